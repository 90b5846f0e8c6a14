import { randomBytes } from 'node:crypto';
import type { OutboxCounts, OutboxItem, OutboxStatus, OutboxTable } from '../store.js';
import type { Db } from './db.js';
import { createSqliteEventExpander } from './event-expander.js';
import type { SyncTable } from './sync.js';

interface RawClaimed {
  id: number;
  agent: string;
  email: string;
  attempts: number;
  created_at: number;
  event_id: number;
  type: string;
  at: number;
  task_id: string | null;
  data: string;
}

/**
 * The durable outbox. `claimDue` is one guarded UPDATE of the row due soonest (pushing it out of sight for the
 * claim's duration): with one writer at a time on the file, two claims can never take the same row.
 */
export function createOutboxTable(db: Db): SyncTable<OutboxTable> {
  const expander = createSqliteEventExpander(db);
  const q = {
    enqueue: db.prepare(
      `INSERT INTO outbox (event_id, agent, email, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (event_id, agent) DO NOTHING`,
    ),
    claim: db.prepare<[number, number], { id: number }>(
      `UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1
       WHERE id = (SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= ?
                   ORDER BY next_attempt_at, id LIMIT 1)
       RETURNING id`,
    ),
    withEvent: db.prepare<[number], RawClaimed>(
      `SELECT o.id, o.agent, o.email, o.attempts, o.created_at, o.event_id, e.type, e.at, e.task_id, e.data
       FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.id = ?`,
    ),
    markSent: db.prepare(
      `UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ? AND status = 'queued'`,
    ),
    retryAt: db.prepare(`UPDATE outbox SET next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'queued'`),
    markFailed: db.prepare(`UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ? AND status = 'queued'`),
    nextDue: db.prepare<[], number | null>(`SELECT min(next_attempt_at) FROM outbox WHERE status = 'queued'`),
    counts: db.prepare<[], { status: OutboxStatus; n: number }>(
      'SELECT status, count(*) AS n FROM outbox GROUP BY status',
    ),
    instanceId: db.prepare<[], string | undefined>("SELECT value FROM meta WHERE key = 'mail_instance_id'"),
    setInstanceId: db.prepare("INSERT INTO meta (key, value) VALUES ('mail_instance_id', ?) ON CONFLICT DO NOTHING"),
  };
  q.nextDue.pluck();
  q.instanceId.pluck();

  const ops = {
    /** Queues mail of `eventId` to `agent` at `email`; a second call for the same pair does nothing. */
    enqueue(eventId: number, agent: string, email: string, at: number): void {
      q.enqueue.run(eventId, agent, email, at, at);
    },

    /**
     * Takes the row due soonest (at or before `now`) and hides it until `visibleAgainAt`, so that a sender that
     * dies mid-send leaves the row to be retried then. `undefined` when nothing is due.
     */
    claimDue(now: number, visibleAgainAt: number): OutboxItem | undefined {
      const claimed = q.claim.get(visibleAgainAt, now);
      if (!claimed) return undefined;
      const raw = q.withEvent.get(claimed.id) as RawClaimed;
      return {
        id: raw.id,
        agent: raw.agent,
        email: raw.email,
        attempts: raw.attempts,
        createdAt: raw.created_at,
        event: {
          id: raw.event_id,
          type: raw.type,
          at: raw.at,
          taskId: raw.task_id,
          recipients: [raw.agent],
          data: expander()(raw.task_id, raw.data),
        },
      };
    },

    markSent(id: number, at: number): void {
      q.markSent.run(at, id);
    },

    /** Leaves the row queued, due again at `at` (ms), remembering why the last send failed. */
    retryAt(id: number, at: number, error: string): void {
      q.retryAt.run(at, error, id);
    },

    markFailed(id: number, error: string): void {
      q.markFailed.run(error, id);
    },

    /** When the next queued row is due (ms), `undefined` when nothing is queued. */
    nextDueAt(): number | undefined {
      return (q.nextDue.get() as number | null) ?? undefined;
    },

    counts(): OutboxCounts {
      const counts: OutboxCounts = { queued: 0, sent: 0, failed: 0 };
      for (const row of q.counts.all()) counts[row.status] = row.n;
      return counts;
    },

    /**
     * A random id of this database, generated once: it goes into every Message-ID, so two hubs (or one whose data
     * dir was reset) never reuse a Message-ID that a mailbox would take for a duplicate.
     */
    instanceId(): string {
      const existing = q.instanceId.get() as string | undefined;
      if (existing) return existing;
      q.setInstanceId.run(randomBytes(6).toString('hex'));
      return q.instanceId.get() as string;
    },
  };
  return { ops, writes: ['enqueue', 'claimDue', 'markSent', 'retryAt', 'markFailed', 'instanceId'] };
}
