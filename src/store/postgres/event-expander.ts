import { createEventExpander, type TaskValues } from '../event-refs.js';
import type { Session } from './session.js';

/** Key the stored data of an event with references carries (event-refs.ts); a cheap test before any parse. */
const REFS_MARK = '"$taskRefs":';

interface RawTaskValues extends TaskValues {
  id: string;
}

/**
 * The expander for these rows (event-refs.ts). It reads task rows synchronously, so the rows that may hold
 * references are found first and their tasks' values read in one query; a page with none (the common case) costs
 * no query at all. Expanding stays per row, so a caller that stops early never builds the rest.
 */
export async function expanderFor(
  s: Pick<Session, 'rows'>,
  rows: readonly { task_id: string | null; data: string }[],
): Promise<(taskId: string | null, data: string) => string> {
  const ids = [...new Set(rows.filter((r) => r.task_id !== null && r.data.includes(REFS_MARK)).map((r) => r.task_id!))];
  if (ids.length === 0) return (_taskId, data) => data;
  const values = new Map<string, TaskValues>();
  const found = await s.rows<RawTaskValues>('SELECT id, payload, result FROM tasks WHERE id = ANY($1::text[])', [ids]);
  for (const row of found) values.set(row.id, { payload: row.payload, result: row.result });
  return createEventExpander((taskId) => values.get(taskId))();
}
