import { randomBytes } from 'node:crypto';
import type { FailedDelivery, OutboxChannel, OutboxCounts, OutboxItem, OutboxStatus, OutboxTable } from '../store.js';
import { outboxCountsOf, outboxItemFromRaw, type RawClaimed } from '../rows.js';
import type { Db } from './db.js';
import { createSqliteEventExpander } from './event-expander.js';
import type { SyncTable } from './sync.js';

/**
 * The durable outbox of every channel. `claimMany` is one guarded UPDATE of the rows due soonest (pushing them out
 * of sight for the claim's duration): with one writer at a time on the file, two claims can never take the same row.
 */
export function createOutboxTable(db: Db): SyncTable<OutboxTable> {
  const expander = createSqliteEventExpander(db);
  const q = {
    enqueue: db.prepare(
      `INSERT INTO outbox (event_id, agent, email, next_attempt_at, created_at, channel) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (event_id, agent) DO NOTHING`,
    ),
    claim: db.prepare<[number, number, string, number, number], { id: number }>(
      `UPDATE outbox SET next_attempt_at = ?, last_attempt_at = ?, attempts = attempts + 1
       WHERE id IN (SELECT id FROM outbox WHERE channel = ? AND status = 'queued' AND next_attempt_at <= ?
                    ORDER BY next_attempt_at, id LIMIT ?)
       RETURNING id`,
    ),
    withEvent: db.prepare<[number], RawClaimed>(
      `SELECT o.id, o.channel, o.agent, o.email, o.attempts, o.created_at, o.event_id, e.type, e.at, e.task_id, e.data
       FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.id = ?`,
    ),
    markSent: db.prepare(
      `UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ? AND status = 'queued'`,
    ),
    retryAt: db.prepare(`UPDATE outbox SET next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'queued'`),
    markFailed: db.prepare(`UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ? AND status = 'queued'`),
    nextDue: db.prepare<[string], number | null>(
      `SELECT min(next_attempt_at) FROM outbox WHERE channel = ? AND status = 'queued'`,
    ),
    counts: db.prepare<[string], { status: OutboxStatus; n: number }>(
      'SELECT status, count(*) AS n FROM outbox WHERE channel = ? GROUP BY status',
    ),
    agentCounts: db.prepare<[string, string], { status: OutboxStatus; n: number }>(
      'SELECT status, count(*) AS n FROM outbox WHERE agent = ? AND channel = ? GROUP BY status',
    ),
    failedOf: db.prepare<[string, string, number], FailedDelivery>(
      `SELECT event_id AS eventId, attempts, last_error AS lastError, last_attempt_at AS lastAttemptAt FROM outbox
       WHERE agent = ? AND channel = ? AND status = 'failed' ORDER BY id DESC LIMIT ?`,
    ),
    requeue: db.prepare(
      `UPDATE outbox SET status = 'queued', next_attempt_at = ?, created_at = ?, attempts = 0
       WHERE agent = ? AND channel = ? AND status = 'failed'`,
    ),
    failQueued: db.prepare(
      `UPDATE outbox SET status = 'failed', last_error = ? WHERE agent = ? AND channel = ? AND status = 'queued'`,
    ),
    instanceId: db.prepare<[], string | undefined>("SELECT value FROM meta WHERE key = 'mail_instance_id'"),
    setInstanceId: db.prepare("INSERT INTO meta (key, value) VALUES ('mail_instance_id', ?) ON CONFLICT DO NOTHING"),
  };
  q.nextDue.pluck();
  q.instanceId.pluck();

  const itemOf = (raw: RawClaimed): OutboxItem => outboxItemFromRaw(raw, expander());

  const ops = {
    enqueue(eventId: number, agent: string, address: string, at: number, channel: OutboxChannel = 'email'): void {
      q.enqueue.run(eventId, agent, address, at, at, channel);
    },

    claimMany(channel: OutboxChannel, now: number, visibleAgainAt: number, limit: number): OutboxItem[] {
      const claimed = q.claim.all(visibleAgainAt, now, channel, now, limit);
      // RETURNING gives no order: hand them out in queueing order.
      return claimed
        .map(({ id }) => itemOf(q.withEvent.get(id) as RawClaimed))
        .sort((a, b) => a.id - b.id);
    },

    claimDue(now: number, visibleAgainAt: number, channel: OutboxChannel = 'email'): OutboxItem | undefined {
      return ops.claimMany(channel, now, visibleAgainAt, 1)[0];
    },

    markSent(id: number, at: number): void {
      q.markSent.run(at, id);
    },

    retryAt(id: number, at: number, error: string): void {
      q.retryAt.run(at, error, id);
    },

    markFailed(id: number, error: string): void {
      q.markFailed.run(error, id);
    },

    nextDueAt(channel: OutboxChannel = 'email'): number | undefined {
      return (q.nextDue.get(channel) as number | null) ?? undefined;
    },

    counts(channel: OutboxChannel = 'email'): OutboxCounts {
      return outboxCountsOf(q.counts.all(channel));
    },

    agentCounts(agent: string, channel: OutboxChannel): OutboxCounts {
      return outboxCountsOf(q.agentCounts.all(agent, channel));
    },

    failedOf(agent: string, channel: OutboxChannel, limit: number): FailedDelivery[] {
      return q.failedOf.all(agent, channel, limit);
    },

    requeueFailed(agent: string, channel: OutboxChannel, at: number): number {
      return q.requeue.run(at, at, agent, channel).changes;
    },

    failQueued(agent: string, channel: OutboxChannel, error: string): number {
      return q.failQueued.run(error, agent, channel).changes;
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
  return {
    ops,
    writes: ['enqueue', 'claimDue', 'claimMany', 'markSent', 'retryAt', 'markFailed', 'requeueFailed', 'failQueued', 'instanceId'],
  };
}
