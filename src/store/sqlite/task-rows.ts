import type { TaskKind } from '../../domain/types.js';
import type { TaskStatus } from '../../domain/task-status.js';
import { taskFromRaw, type RawTask } from '../rows.js';
import type { TaskRecord } from '../store.js';

/**
 * The SQLite store reads task rows as arrays (better-sqlite3's `raw` mode), the columns in this order. A row as
 * an object costs better-sqlite3 one property set per column from C++, which for the task's 21 columns came to
 * about 2 µs per row, a sixth of the guarded update that returns it (docs/performance.md); an object literal
 * built here from the array costs a small part of that.
 */
const TASK_COLUMNS = [
  'seq', 'id', 'kind', 'task', 'payload', 'capability', 'priority', 'status', 'assigner', 'target', 'deadline',
  'result', 'error', 'attempts', 'lease_expires_at', 'lease_seconds', 'idempotency_key', 'created_at',
  'updated_at', 'claimed_at', 'completed_at',
] as const satisfies readonly (keyof RawTask)[];

/** The select list of a task statement read with `taskFromRow`. */
export const TASK_SELECT = TASK_COLUMNS.join(', ');

/** A task row read in `TASK_COLUMNS` order. */
export type TaskRow = unknown[];

export const taskFromRow = (row: TaskRow): TaskRecord =>
  taskFromRaw({
    seq: row[0] as number,
    id: row[1] as string,
    kind: row[2] as TaskKind,
    task: row[3] as string,
    payload: row[4] as string | null,
    capability: row[5] as string | null,
    priority: row[6] as number,
    status: row[7] as TaskStatus,
    assigner: row[8] as string,
    target: row[9] as string,
    deadline: row[10] as number | null,
    result: row[11] as string | null,
    error: row[12] as string | null,
    attempts: row[13] as number,
    lease_expires_at: row[14] as number | null,
    lease_seconds: row[15] as number | null,
    idempotency_key: row[16] as string | null,
    created_at: row[17] as number,
    updated_at: row[18] as number,
    claimed_at: row[19] as number | null,
    completed_at: row[20] as number | null,
  });
