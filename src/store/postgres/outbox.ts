import { randomBytes } from 'node:crypto';
import type { FailedDelivery, OutboxItem, OutboxTable } from '../store.js';
import { outboxCountsOf, outboxItemFromRaw, type RawClaimed } from '../rows.js';
import { expanderFor } from './event-expander.js';
import type { Session } from './session.js';

// One statement: the due rows of a channel no other claimant holds (SKIP LOCKED: hubs claiming at once take
// different rows instead of queueing on the same ones), pushed out of sight until the claim ends, returned with
// their events.
const CLAIM = `WITH next AS (
    SELECT id FROM outbox WHERE channel = $3 AND status = 'queued' AND next_attempt_at <= $1
    ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
  UPDATE outbox o SET next_attempt_at = $2, last_attempt_at = $1, attempts = o.attempts + 1
  FROM next, events e WHERE o.id = next.id AND e.id = o.event_id
  RETURNING o.id, o.channel, o.agent, o.email, o.attempts, o.created_at, o.event_id, e.type, e.at, e.task_id, e.data`;

/** The outbox on `s`; each operation is one statement, guarded by `status` where it settles a row. */
export function createOutboxTable(s: Session): OutboxTable {
  const instanceId = async () =>
    (await s.rows<{ value: string }>("SELECT value FROM meta WHERE key = 'mail_instance_id'"))[0]?.value;
  const table: OutboxTable = {
    async enqueue(eventId, agent, address, at, channel = 'email') {
      await s.write(
        `INSERT INTO outbox (event_id, agent, email, next_attempt_at, created_at, channel) VALUES ($1, $2, $3, $4, $4, $5)
         ON CONFLICT (event_id, agent) DO NOTHING`,
        [eventId, agent, address, at, channel],
      );
    },

    async claimMany(channel, now, visibleAgainAt, limit): Promise<OutboxItem[]> {
      const raws = await s.rows<RawClaimed>(CLAIM, [now, visibleAgainAt, channel, limit]);
      if (raws.length === 0) return [];
      const expand = await expanderFor(s, raws);
      return raws
        .map((raw) => outboxItemFromRaw(raw, expand))
        .sort((a, b) => a.id - b.id);
    },

    async claimDue(now, visibleAgainAt, channel = 'email') {
      return (await table.claimMany(channel, now, visibleAgainAt, 1))[0];
    },

    async markSent(id, at) {
      await s.count(`UPDATE outbox SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2 AND status = 'queued'`, [
        at,
        id,
      ]);
    },

    async retryAt(id, at, error) {
      await s.count(`UPDATE outbox SET next_attempt_at = $1, last_error = $2 WHERE id = $3 AND status = 'queued'`, [at, error, id]);
    },

    async markFailed(id, error) {
      await s.count(`UPDATE outbox SET status = 'failed', last_error = $1 WHERE id = $2 AND status = 'queued'`, [error, id]);
    },

    async nextDueAt(channel = 'email') {
      const [row] = await s.rows<{ at: number | null }>(
        `SELECT min(next_attempt_at) AS at FROM outbox WHERE channel = $1 AND status = 'queued'`,
        [channel],
      );
      return row?.at ?? undefined;
    },

    async counts(channel = 'email') {
      return outboxCountsOf(
        await s.rows('SELECT status, count(*)::int AS n FROM outbox WHERE channel = $1 GROUP BY status', [channel]),
      );
    },

    async agentCounts(agent, channel) {
      return outboxCountsOf(
        await s.rows('SELECT status, count(*)::int AS n FROM outbox WHERE agent = $1 AND channel = $2 GROUP BY status', [
          agent,
          channel,
        ]),
      );
    },

    async failedOf(agent, channel, limit) {
      return s.rows<FailedDelivery>(
        `SELECT event_id AS "eventId", attempts, last_error AS "lastError", last_attempt_at AS "lastAttemptAt" FROM outbox
         WHERE agent = $1 AND channel = $2 AND status = 'failed' ORDER BY id DESC LIMIT $3`,
        [agent, channel, limit],
      );
    },

    async requeueFailed(agent, channel, at) {
      return s.count(
        `UPDATE outbox SET status = 'queued', next_attempt_at = $1, created_at = $1, attempts = 0
         WHERE agent = $2 AND channel = $3 AND status = 'failed'`,
        [at, agent, channel],
      );
    },

    async failQueued(agent, channel, error) {
      return s.count(`UPDATE outbox SET status = 'failed', last_error = $1 WHERE agent = $2 AND channel = $3 AND status = 'queued'`, [
        error,
        agent,
        channel,
      ]);
    },

    // Whoever inserts first wins; every hub then reads the same id.
    async instanceId() {
      const existing = await instanceId();
      if (existing) return existing;
      await s.count("INSERT INTO meta (key, value) VALUES ('mail_instance_id', $1) ON CONFLICT DO NOTHING", [
        randomBytes(6).toString('hex'),
      ]);
      return (await instanceId())!;
    },
  };
  return table;
}
