import { OPEN_STATUSES } from '../../domain/task-status.js';

/**
 * The SQL list of string constants, `'a', 'b'`: status lists in statements are built from the domain's status
 * sets (never typed out), so that adding a status changes every query that must know it. Only for constants of
 * the code, never for input.
 */
export function sqlList(values: readonly string[]): string {
  return values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ');
}

/**
 * The open tasks of the `agents` row in hand, as a subquery: what `agents.open_tasks` holds (migration 008). It
 * lives here, below the two modules that use it: tasks.ts keeps the count, and db.ts checks it at every open.
 */
export const OPEN_TASKS_OF_AGENT = `(SELECT count(*) FROM tasks t
  WHERE t.target = agents.name AND t.status IN (${sqlList(OPEN_STATUSES)}))`;
