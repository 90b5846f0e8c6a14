import { createEventExpander, type TaskValues } from '../event-refs.js';
import type { Db } from './db.js';

/** The event expander of event-refs.ts, reading referenced values from this database's task rows. */
export function createSqliteEventExpander(db: Db) {
  const read = db.prepare<[string], TaskValues>('SELECT payload, result FROM tasks WHERE id = ?');
  return createEventExpander((taskId) => read.get(taskId));
}
