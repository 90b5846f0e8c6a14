import {
  isTerminal,
  LEASED_STATUSES,
  OPEN_STATUSES,
  TERMINAL_STATUSES,
  type TaskStatus,
} from '../../domain/task-status.js';
import type { NewTask, TaskPatch, TaskQuery, TaskRecord, TaskTable } from '../store.js';
import { TASK_PATCH_COLUMNS as COLUMNS, taskFromRaw, toJson } from '../rows.js';
import type { Db } from './db.js';
import { OPEN_TASKS_OF_AGENT, sqlList } from './sql.js';
import type { SyncTable } from './sync.js';
import { prepareTaskRows, TASK_SELECT, taskFromRow as fromRow } from './task-rows.js';

const OPEN = sqlList(OPEN_STATUSES);
const LEASED = sqlList(LEASED_STATUSES);
const TERMINAL = sqlList(TERMINAL_STATUSES);

/**
 * The partial index behind `nextDeadline` and `deadlinesDue`: its `WHERE` must be the very text of theirs for
 * SQLite to use it, so both come from here (and a test checks the migration's index against it).
 */
export const DEADLINE_INDEX_WHERE = `deadline IS NOT NULL AND status IN (${OPEN})`;

/** The insert's parameters, in the order of its `?`s. */
type InsertParams = [
  id: string, kind: string, task: string, payload: string | null, capability: string | null, priority: number,
  assigner: string, target: string, deadline: number | null, idempotencyKey: string | null, createdAt: number,
  updatedAt: number,
];

/** The tasks table. */
export function createTaskTable(db: Db): SyncTable<TaskTable> {
  const q = {
    // Parameters by position, as the other statements of an rpc take theirs: by name, better-sqlite3 looks each
    // one up on the object handed over (and the insert was handed a copy of the task), 1.7 µs more per insert.
    insert: db.prepare<InsertParams>(
      `INSERT INTO tasks (id, kind, task, payload, capability, priority, status, assigner, target, deadline,
         idempotency_key, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'assigned', ?, ?, ?, ?, ?, ?)`,
    ),
    markAssigned: db.prepare<[number, string]>(
      'UPDATE agents SET last_assigned_at = ?, open_tasks = open_tasks + 1 WHERE name = ?',
    ),
    oneFewerOpen: db.prepare<[string]>('UPDATE agents SET open_tasks = open_tasks - 1 WHERE name = ?'),
    recountOpen: db.prepare<[string]>(`UPDATE agents SET open_tasks = ${OPEN_TASKS_OF_AGENT} WHERE name = ?`),
    get: prepareTaskRows<[string]>(db, `SELECT ${TASK_SELECT} FROM tasks WHERE id = ?`),
    byIdempotencyKey: prepareTaskRows<[string, string]>(db,
      `SELECT ${TASK_SELECT} FROM tasks WHERE assigner = ? AND idempotency_key = ?`,
    ),
    pending: prepareTaskRows<[string, number]>(db,
      `SELECT ${TASK_SELECT} FROM tasks WHERE target = ? AND status = 'assigned'
       ORDER BY priority DESC, seq ASC LIMIT ?`,
    ),
    openByTarget: prepareTaskRows<[string]>(db,
      `SELECT ${TASK_SELECT} FROM tasks WHERE target = ? AND status IN (${OPEN}) ORDER BY seq`,
    ),
    countByStatus: db.prepare<[], { status: TaskStatus; n: number }>(
      'SELECT status, count(*) AS n FROM tasks GROUP BY status',
    ),
    // The due-time queries walk their partial index in time order and stop at the first open row. Left alone the
    // planner prefers tasks_by_status, which reads and sorts every open task: `+status` and INDEXED BY prevent it.
    nextLease: db.prepare<[], number>(
      `SELECT lease_expires_at FROM tasks WHERE lease_expires_at IS NOT NULL AND +status IN (${LEASED})
       ORDER BY lease_expires_at LIMIT 1`,
    ),
    nextDeadline: db.prepare<[], number>(
      `SELECT deadline FROM tasks INDEXED BY tasks_by_deadline
       WHERE ${DEADLINE_INDEX_WHERE} ORDER BY deadline LIMIT 1`,
    ),
    leasesDue: prepareTaskRows<[number, number]>(db,
      `SELECT ${TASK_SELECT} FROM tasks WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= ?
         AND +status IN (${LEASED})
       ORDER BY lease_expires_at LIMIT ?`,
    ),
    deadlinesDue: prepareTaskRows<[number, number]>(db,
      `SELECT ${TASK_SELECT} FROM tasks INDEXED BY tasks_by_deadline
       WHERE ${DEADLINE_INDEX_WHERE} AND deadline <= ?
       ORDER BY deadline LIMIT ?`,
    ),
    terminalAmong: prepareTaskRows<[string]>(db,
      `SELECT ${TASK_SELECT} FROM tasks WHERE id IN (SELECT value FROM json_each(?))
         AND +status IN (${TERMINAL})`,
    ),
  };
  q.nextLease.pluck();
  q.nextDeadline.pluck();
  // Statements built from a shape (which columns, which statuses) are prepared once per shape; all read task rows.
  // `key` names the shape and `sql` builds the statement the first time: a hot statement's key is kept short, since
  // building its SQL only to look it up cost the string and its hash on every call.
  const shaped = new Map<string, ReturnType<typeof prepareTaskRows>>();
  const prepareShaped = (key: string, sql: () => string) => {
    let stmt = shaped.get(key);
    if (!stmt) shaped.set(key, (stmt = prepareTaskRows(db, sql())));
    return stmt;
  };
  /**
   * The guarded update of a transition from `from` setting `keys`; its parameters are the new status, the time,
   * the values of `keys` in their order, then the id.
   */
  const transitionStatement = (from: readonly TaskStatus[], keys: readonly (keyof TaskPatch)[]) =>
    prepareShaped(`transition ${from.join()} ${keys.join()}`, () => {
      const sets = keys.map((k) => `, ${COLUMNS[k]} = ?`).join('');
      return `UPDATE tasks SET status = ?, updated_at = ?${sets} WHERE id = ? AND status IN (${sqlList(from)})
        RETURNING ${TASK_SELECT}`;
    });

  /**
   * Keeps the target's `open_tasks` (migration 008) after one of its tasks moved from one of `from` to `to`. Every
   * hub action moves a task from open statuses: to another one changes nothing, to a terminal one takes one off.
   * A `from` holding a terminal status (the store allows it) does not say which status the row left: count again.
   */
  const keepOpenCount = (target: string, from: readonly TaskStatus[], to: TaskStatus) => {
    const fromOpen = !from.some(isTerminal);
    if (fromOpen && !isTerminal(to)) return;
    if (fromOpen) q.oneFewerOpen.run(target);
    else q.recountOpen.run(target);
  };

  const ops = {
    /**
     * The row is built here, not read back with `RETURNING *`: SQLite's RETURNING keeps the row aside and hands
     * every column over again, a fifth to a quarter of the insert's cost (docs/performance.md). What the table
     * fills in itself is `seq` (the rowid) and `attempts` (0); the rest starts NULL.
     */
    insert(task: NewTask): TaskRecord {
      const payload = toJson(task.payload);
      const { lastInsertRowid } = q.insert.run(
        task.id, task.kind, task.task, payload, task.capability, task.priority, task.assigner, task.target,
        task.deadline, task.idempotencyKey, task.createdAt, task.createdAt,
      );
      q.markAssigned.run(task.createdAt, task.target);
      return taskFromRaw({
        seq: Number(lastInsertRowid),
        id: task.id,
        kind: task.kind,
        task: task.task,
        payload,
        capability: task.capability,
        priority: task.priority,
        status: 'assigned',
        assigner: task.assigner,
        target: task.target,
        deadline: task.deadline,
        result: null,
        error: null,
        attempts: 0,
        lease_expires_at: null,
        lease_seconds: null,
        idempotency_key: task.idempotencyKey,
        created_at: task.createdAt,
        updated_at: task.createdAt,
        claimed_at: null,
        completed_at: null,
      });
    },

    get(id: string): TaskRecord | undefined {
      const row = q.get.get(id);
      return row && fromRow(row);
    },

    findByIdempotencyKey(assigner: string, key: string): TaskRecord | undefined {
      const row = q.byIdempotencyKey.get(assigner, key);
      return row && fromRow(row);
    },

    /**
     * The guarded state change: moves the task to `to` only if its status is one of `from`, setting `patch`.
     * Returns the updated task, or `undefined` when no row matched (unknown id or a forbidden status).
     */
    transition(id: string, from: readonly TaskStatus[], to: TaskStatus, patch: TaskPatch, now: number): TaskRecord | undefined {
      const keys = (Object.keys(patch) as (keyof TaskPatch)[]).filter((k) => patch[k] !== undefined);
      const params: unknown[] = [to, now];
      for (const k of keys) params.push(k === 'result' ? toJson(patch[k]) : patch[k]);
      params.push(id);
      // `RETURNING` here, unlike the insert: the row read by its id after the UPDATE cost more than the clause
      // (another seek in the id index, whose pages are random).
      const row = transitionStatement(from, keys).get(...params);
      if (!row) return undefined;
      const task = fromRow(row);
      keepOpenCount(task.target, from, to);
      return task;
    },

    /** Newest first; pass the last row's `seq` as `beforeSeq` for the next page. */
    list(query: TaskQuery): TaskRecord[] {
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: query.limit };
      if (query.agent !== undefined) {
        params.agent = query.agent;
        where.push(query.role ? `${query.role} = @agent` : '(assigner = @agent OR target = @agent)');
      }
      if (query.status !== undefined) {
        params.status = query.status;
        where.push('status = @status');
      }
      if (query.beforeSeq !== undefined) {
        params.beforeSeq = query.beforeSeq;
        where.push('seq < @beforeSeq');
      }
      const sql = `SELECT ${TASK_SELECT} FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq DESC LIMIT @limit`;
      return prepareShaped(sql, () => sql).all(params).map(fromRow);
    },

    /** The agent's `assigned` tasks, urgent first, then oldest first. */
    pending(target: string, limit: number): TaskRecord[] {
      return q.pending.all(target, limit).map(fromRow);
    },

    openByTarget(target: string): TaskRecord[] {
      return q.openByTarget.all(target).map(fromRow);
    },

    /** The earliest lease end of a claimed or in-progress task (ms), or `undefined` when none runs. */
    nextLeaseExpiry(): number | undefined {
      return q.nextLease.get() as number | undefined;
    },

    /** The earliest deadline of an open task (ms), or `undefined` when none has one. */
    nextDeadline(): number | undefined {
      return q.nextDeadline.get() as number | undefined;
    },

    /** Claimed or in-progress tasks whose lease ended at or before `now`, soonest first, at most `limit`. */
    leasesDue(now: number, limit: number): TaskRecord[] {
      return q.leasesDue.all(now, limit).map(fromRow);
    },

    /** Open tasks whose deadline is at or before `now`, soonest first, at most `limit`. */
    deadlinesDue(now: number, limit: number): TaskRecord[] {
      return q.deadlinesDue.all(now, limit).map(fromRow);
    },

    /** Those of `ids` whose task is in a terminal status, in one statement whatever the number of ids. */
    terminalAmong(ids: readonly string[]): TaskRecord[] {
      return ids.length === 0 ? [] : q.terminalAmong.all(JSON.stringify(ids)).map(fromRow);
    },

    countByStatus(): Partial<Record<TaskStatus, number>> {
      return Object.fromEntries(q.countByStatus.all().map((r) => [r.status, r.n]));
    },
  };
  return { ops, writes: ['insert', 'transition'] };
}
