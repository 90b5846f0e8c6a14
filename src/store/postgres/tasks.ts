import { LEASED_STATUSES, OPEN_STATUSES, TERMINAL_STATUSES, type TaskStatus } from '../../domain/task-status.js';
import type { NewTask, TaskPatch, TaskTable } from '../store.js';
import { TASK_PATCH_COLUMNS as COLUMNS, taskFromRaw as fromRaw, toJson, type RawTask } from '../rows.js';
import type { Session } from './session.js';
import { sqlList } from './sql.js';

const OPEN = sqlList(OPEN_STATUSES);
const LEASED = sqlList(LEASED_STATUSES);
const TERMINAL = sqlList(TERMINAL_STATUSES);

/** The tasks table on `s`. Every status change is one guarded UPDATE. */
export function createTaskTable(s: Session): TaskTable {
  const many = async (sql: string, params: readonly unknown[] = []) => (await s.rows<RawTask>(sql, params)).map(fromRaw);
  const one = async (sql: string, params: readonly unknown[]) => (await many(sql, params))[0];
  const firstNumber = async (sql: string) => {
    const [row] = await s.rows<{ at: number | null }>(sql);
    return row?.at ?? undefined;
  };

  return {
    async insert(task: NewTask) {
      // The target's last_assigned_at in the same statement: one round trip, one statement to parse and send.
      const inserted = await one(
        `WITH t AS (
           INSERT INTO tasks (id, kind, task, payload, capability, priority, status, assigner, target, deadline,
             idempotency_key, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'assigned', $7, $8, $9, $10, $11, $11) RETURNING *),
         a AS (UPDATE agents SET last_assigned_at = $11 WHERE name = $8)
         SELECT * FROM t`,
        [task.id, task.kind, task.task, toJson(task.payload), task.capability, task.priority, task.assigner,
          task.target, task.deadline, task.idempotencyKey, task.createdAt],
      );
      return inserted!;
    },

    get: (id) => one('SELECT * FROM tasks WHERE id = $1', [id]),

    findByIdempotencyKey: (assigner, key) =>
      one('SELECT * FROM tasks WHERE assigner = $1 AND idempotency_key = $2', [assigner, key]),

    transition(id, from, to, patch, now) {
      const keys = (Object.keys(patch) as (keyof TaskPatch)[]).filter((k) => patch[k] !== undefined);
      const params: unknown[] = [id, from, to, now];
      const sets = keys.map((k) => {
        params.push(k === 'result' ? toJson(patch[k]) : patch[k]);
        return `, ${COLUMNS[k]} = $${params.length}`;
      });
      return one(
        `UPDATE tasks SET status = $3, updated_at = $4${sets.join('')}
         WHERE id = $1 AND status = ANY($2::text[]) RETURNING *`,
        params,
      );
    },

    list(query) {
      const where: string[] = [];
      const params: unknown[] = [];
      const bind = (value: unknown) => `$${params.push(value)}`;
      if (query.agent !== undefined) {
        const agent = bind(query.agent);
        where.push(query.role ? `${query.role} = ${agent}` : `(assigner = ${agent} OR target = ${agent})`);
      }
      if (query.status !== undefined) where.push(`status = ${bind(query.status)}`);
      if (query.beforeSeq !== undefined) where.push(`seq < ${bind(query.beforeSeq)}`);
      const limit = bind(query.limit);
      return many(
        `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ${limit}`,
        params,
      );
    },

    pending: (target, limit) =>
      many(`SELECT * FROM tasks WHERE target = $1 AND status = 'assigned' ORDER BY priority DESC, seq ASC LIMIT $2`, [
        target,
        limit,
      ]),

    openByTarget: (target) => many(`SELECT * FROM tasks WHERE target = $1 AND status IN (${OPEN}) ORDER BY seq`, [target]),

    nextLeaseExpiry: () =>
      firstNumber(
        `SELECT lease_expires_at AS at FROM tasks WHERE lease_expires_at IS NOT NULL AND status IN (${LEASED})
         ORDER BY lease_expires_at LIMIT 1`,
      ),

    nextDeadline: () =>
      firstNumber(
        `SELECT deadline AS at FROM tasks WHERE deadline IS NOT NULL AND status IN (${OPEN}) ORDER BY deadline LIMIT 1`,
      ),

    leasesDue: (now, limit) =>
      many(
        `SELECT * FROM tasks WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= $1 AND status IN (${LEASED})
         ORDER BY lease_expires_at LIMIT $2`,
        [now, limit],
      ),

    deadlinesDue: (now, limit) =>
      many(
        `SELECT * FROM tasks WHERE deadline IS NOT NULL AND deadline <= $1 AND status IN (${OPEN})
         ORDER BY deadline LIMIT $2`,
        [now, limit],
      ),

    terminalAmong: async (ids) =>
      ids.length === 0 ? [] : many(`SELECT * FROM tasks WHERE id = ANY($1::text[]) AND status IN (${TERMINAL})`, [ids]),

    async countByStatus() {
      const rows = await s.rows<{ status: TaskStatus; n: number }>('SELECT status, count(*) AS n FROM tasks GROUP BY status');
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
  } satisfies TaskTable;
}
