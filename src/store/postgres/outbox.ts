import { randomBytes } from 'node:crypto';
import type { OutboxCounts, OutboxItem, OutboxStatus, OutboxTable } from '../store.js';
import { expanderFor } from './event-expander.js';
import type { Session } from './session.js';

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

// One statement: the due row no other claimant holds (SKIP LOCKED: hubs claiming at once take different rows instead
// of queueing on the same one), pushed out of sight until the claim ends, returned with its event.
const CLAIM = `WITH next AS (
    SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= $1
    ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
  UPDATE outbox o SET next_attempt_at = $2, attempts = o.attempts + 1
  FROM next, events e WHERE o.id = next.id AND e.id = o.event_id
  RETURNING o.id, o.agent, o.email, o.attempts, o.created_at, o.event_id, e.type, e.at, e.task_id, e.data`;

/** The outbox on `s`; each operation is one statement, guarded by `status = 'queued'` where it settles a row. */
export function createOutboxTable(s: Session): OutboxTable {
  const instanceId = async () =>
    (await s.rows<{ value: string }>("SELECT value FROM meta WHERE key = 'mail_instance_id'"))[0]?.value;
  return {
    async enqueue(eventId, agent, email, at) {
      await s.write(
        `INSERT INTO outbox (event_id, agent, email, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (event_id, agent) DO NOTHING`,
        [eventId, agent, email, at],
      );
    },

    async claimDue(now, visibleAgainAt): Promise<OutboxItem | undefined> {
      const [raw] = await s.rows<RawClaimed>(CLAIM, [now, visibleAgainAt]);
      if (!raw) return undefined;
      const expand = await expanderFor(s, [raw]);
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
          data: expand(raw.task_id, raw.data),
        },
      };
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

    async nextDueAt() {
      const [row] = await s.rows<{ at: number | null }>(`SELECT min(next_attempt_at) AS at FROM outbox WHERE status = 'queued'`);
      return row?.at ?? undefined;
    },

    async counts() {
      const counts: OutboxCounts = { queued: 0, sent: 0, failed: 0 };
      const rows = await s.rows<{ status: OutboxStatus; n: number }>('SELECT status, count(*) AS n FROM outbox GROUP BY status');
      for (const row of rows) counts[row.status] = row.n;
      return counts;
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
  } satisfies OutboxTable;
}
