import type { EventTable, NewEvent, TaskHistoryPage } from '../store.js';
import { eventFromRaw as fromRaw, historyPage, type RawEvent } from '../rows.js';
import { expanderFor } from './event-expander.js';
import type { Session } from './session.js';

// The event and who it is for in one round trip.
const APPEND = `WITH e AS (
    INSERT INTO events (type, at, task_id, task_seq, data) VALUES ($1, $2, $3, $4, $5) RETURNING id),
  r AS (
    INSERT INTO event_recipients (agent, event_id) SELECT DISTINCT unnest($6::text[]), e.id FROM e
    ON CONFLICT DO NOTHING)
  SELECT id FROM e`;

const PRUNED_THROUGH = "SELECT value FROM meta WHERE key = 'events_pruned_through'";

/**
 * The event log on `s`. Gapless replay across hubs rests on the schema: an event id is drawn only by the column
 * default next_event_id(), which first takes the events advisory lock, held until the transaction ends. At most one
 * open transaction holds drawn ids at a time and they are greater than every committed id, so a reader that has
 * seen id n can never later find a committed id below n (docs/storage.md, "Event ids").
 */
export function createEventTable(s: Session): EventTable {
  const list = async (sql: string, params: readonly unknown[], recipients: readonly string[]) => {
    const rows = await s.rows<RawEvent>(sql, params);
    const expand = await expanderFor(s, rows);
    return rows.map((raw) => fromRaw(raw, recipients, expand));
  };
  const prunedThrough = async (t: Session) => Number((await t.rows<{ value: string }>(PRUNED_THROUGH))[0]?.value ?? 0);

  return {
    // One statement, so atomic on the pool as it is.
    async append(event: NewEvent) {
      const { storedData, ...rest } = event;
      const [row] = await s.rows<{ id: number }>(APPEND, [
        event.type, event.at, event.taskId, event.taskSeq ?? null, storedData ?? event.data, event.recipients,
      ]);
      const { taskSeq: _taskSeq, ...stored } = { id: row!.id, ...rest };
      await s.wroteEvents(stored);
      return stored;
    },

    listForAgent: (agent, afterId, limit) =>
      list(
        `SELECT e.id, e.type, e.at, e.task_id, e.data FROM event_recipients r JOIN events e ON e.id = r.event_id
         WHERE r.agent = $1 AND r.event_id > $2 ORDER BY r.event_id LIMIT $3`,
        [agent, afterId, limit],
        [agent],
      ),

    listAll: (afterId, limit) =>
      list('SELECT id, type, at, task_id, data FROM events WHERE id > $1 ORDER BY id LIMIT $2', [afterId, limit], []),

    // One row past the page tells whether more follow; rows are expanded one at a time, up to the char budget.
    async listForTask(taskSeq, afterId, limit, maxChars = Infinity): Promise<TaskHistoryPage> {
      const rows = await s.rows<RawEvent>(
        'SELECT id, type, at, task_id, data FROM events WHERE task_seq = $1 AND id > $2 ORDER BY id LIMIT $3',
        [taskSeq, afterId, limit + 1],
      );
      const expand = await expanderFor(s, rows);
      return historyPage(rows, limit, maxChars, expand);
    },

    // The newest committed id, not the sequence's last value: a drawn id may still be uncommitted (or rolled back).
    async lastId() {
      const [row] = await s.rows<{ id: number | null }>('SELECT max(id) AS id FROM events');
      return row?.id ?? 0;
    },

    prunedThrough: () => prunedThrough(s),

    pruneBefore: (cutoff: number) =>
      s.atomic(async (t) => {
        const [row] = await t.rows<{ id: number | null }>('SELECT max(id) AS id FROM events WHERE at < $1', [cutoff]);
        const through = row?.id ?? null;
        if (through === null) return prunedThrough(t);
        await t.count('DELETE FROM event_recipients WHERE event_id <= $1', [through]);
        await t.count(
          `INSERT INTO meta (key, value) VALUES ('events_pruned_through', $1)
           ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value::bigint, excluded.value::bigint)::text`,
          [String(through)],
        );
        return through;
      }),
  } satisfies EventTable;
}
