import type { HubEvent } from '../../domain/types.js';
import type { EventTable, NewEvent, TaskHistoryPage } from '../store.js';
import { eventFromRaw as fromRaw, historyPage, type RawEvent } from '../rows.js';
import type { Db } from './db.js';
import { createSqliteEventExpander } from './event-expander.js';
import type { SyncTable } from './sync.js';

/** The event log and who each event is for. */
export function createEventTable(db: Db): SyncTable<EventTable> {
  const expander = createSqliteEventExpander(db);
  const q = {
    // The id is the statement's rowid: `RETURNING id` made the insert cost a third more (docs/performance.md).
    insert: db.prepare<[string, number, string | null, number | null, string]>(
      'INSERT INTO events (type, at, task_id, task_seq, data) VALUES (?, ?, ?, ?, ?)',
    ),
    addRecipient: db.prepare('INSERT OR IGNORE INTO event_recipients (agent, event_id) VALUES (?, ?)'),
    forAgent: db.prepare<[string, number, number], RawEvent>(
      `SELECT e.* FROM event_recipients r JOIN events e ON e.id = r.event_id
       WHERE r.agent = ? AND r.event_id > ? ORDER BY r.event_id LIMIT ?`,
    ),
    all: db.prepare<[number, number], RawEvent>('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?'),
    forTask: db.prepare<[number, number, number], RawEvent>(
      'SELECT * FROM events WHERE task_seq = ? AND id > ? ORDER BY id LIMIT ?',
    ),
    lastId: db.prepare<[], number>("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)"),
    prune: db.prepare<[number], number>(
      `DELETE FROM event_recipients WHERE event_id <= ?`,
    ),
    lastIdBefore: db.prepare<[number], number | null>('SELECT max(id) FROM events WHERE at < ?'),
    prunedThrough: db.prepare<[], string | undefined>("SELECT value FROM meta WHERE key = 'events_pruned_through'"),
    setPrunedThrough: db.prepare(
      "INSERT INTO meta (key, value) VALUES ('events_pruned_through', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
  };
  for (const stmt of [q.lastId, q.lastIdBefore, q.prunedThrough]) stmt.pluck();

  const ops = {
    /** Appends one event; callers run it inside the transaction of the change it reports. */
    append(event: NewEvent): HubEvent {
      const { storedData, ...rest } = event;
      const data = storedData ?? event.data;
      const id = Number(q.insert.run(event.type, event.at, event.taskId, event.taskSeq ?? null, data).lastInsertRowid);
      for (const agent of event.recipients) q.addRecipient.run(agent, id);
      return { id, ...rest };
    },

    /** The agent's own events after `afterId`, oldest first, at most `limit`. */
    listForAgent(agent: string, afterId: number, limit: number): HubEvent[] {
      const expand = expander();
      return q.forAgent.all(agent, afterId, limit).map((raw) => fromRaw(raw, [agent], expand));
    },

    /** Every event after `afterId` (the admin firehose), oldest first, at most `limit`. */
    listAll(afterId: number, limit: number): HubEvent[] {
      const expand = expander();
      return q.all.all(afterId, limit).map((raw) => fromRaw(raw, [], expand));
    },

    /**
     * Events of the task with this `seq` after `afterId`, oldest first: at most `limit`, and no more once their
     * data adds up to `maxChars` (the first event always comes, however large). The stored rows are small (large
     * values are references); they are expanded one at a time, so a page never holds more than it returns.
     */
    listForTask(taskSeq: number, afterId: number, limit: number, maxChars = Infinity): TaskHistoryPage {
      const expand = expander();
      const rows = q.forTask.all(taskSeq, afterId, limit + 1);
      return historyPage(rows, limit, maxChars, expand);
    },

    /** The newest id ever issued (0 before the first event). */
    lastId(): number {
      return q.lastId.get() as number;
    },

    /** Ids at or below this can no longer be replayed; 0 when nothing has been pruned. */
    prunedThrough(): number {
      return Number(q.prunedThrough.get() ?? 0);
    },

    /**
     * Forgets who the events before `cutoff` (ms) were for, ending their replay; the events stay as the tasks'
     * audit trail. Returns the id through which replay is gone.
     */
    pruneBefore(cutoff: number): number {
      const through = q.lastIdBefore.get(cutoff) as number | null;
      if (through === null) return Number(q.prunedThrough.get() ?? 0);
      q.prune.run(through);
      q.setPrunedThrough.run(String(through));
      return through;
    },
  };
  return { ops, writes: ['append', 'pruneBefore'] };
}
