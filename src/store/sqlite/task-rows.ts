import type { TaskKind } from '../../domain/types.js';
import type { TaskStatus } from '../../domain/task-status.js';
import { taskFromRaw, type RawTask } from '../rows.js';
import type { TaskRecord } from '../store.js';
import type { Db } from './db.js';

/**
 * The SQLite store reads task rows as arrays (better-sqlite3's `raw` mode), the columns in this order. A row as
 * an object costs better-sqlite3 one property set per column from C++, which for the task's 21 columns came to
 * about 2 µs per row, a sixth of the guarded update that returns it (docs/performance.md); an object literal
 * built here from the array costs a small part of that (a loop over the columns would cost ten times the literal).
 */
const TASK_COLUMNS = [
  'seq', 'id', 'kind', 'task', 'payload', 'capability', 'priority', 'status', 'assigner', 'target', 'deadline',
  'result', 'error', 'attempts', 'lease_expires_at', 'lease_seconds', 'idempotency_key', 'created_at',
  'updated_at', 'claimed_at', 'completed_at',
] as const satisfies readonly (keyof RawTask)[];

/** Where each column sits in a row: the record below reads columns by name, so the list's order is free. */
const at = Object.fromEntries(TASK_COLUMNS.map((column, i) => [column, i])) as
  Record<(typeof TASK_COLUMNS)[number], number>;

/** The select list of a task statement read with `taskFromRow`. */
export const TASK_SELECT = TASK_COLUMNS.join(', ');

/** A task row read in `TASK_COLUMNS` order. */
export type TaskRow = unknown[];

/** A statement that reads task rows (its SQL selects or returns `TASK_SELECT`), prepared to hand them as arrays. */
export const prepareTaskRows = <P extends unknown[] = unknown[]>(db: Db, sql: string) =>
  db.prepare<P, TaskRow>(sql).raw();

export const taskFromRow = (row: TaskRow): TaskRecord =>
  taskFromRaw({
    seq: row[at.seq] as number,
    id: row[at.id] as string,
    kind: row[at.kind] as TaskKind,
    task: row[at.task] as string,
    payload: row[at.payload] as string | null,
    capability: row[at.capability] as string | null,
    priority: row[at.priority] as number,
    status: row[at.status] as TaskStatus,
    assigner: row[at.assigner] as string,
    target: row[at.target] as string,
    deadline: row[at.deadline] as number | null,
    result: row[at.result] as string | null,
    error: row[at.error] as string | null,
    attempts: row[at.attempts] as number,
    lease_expires_at: row[at.lease_expires_at] as number | null,
    lease_seconds: row[at.lease_seconds] as number | null,
    idempotency_key: row[at.idempotency_key] as string | null,
    created_at: row[at.created_at] as number,
    updated_at: row[at.updated_at] as number,
    claimed_at: row[at.claimed_at] as number | null,
    completed_at: row[at.completed_at] as number | null,
  });
