import type { PresenceTable } from '../store.js';
import { PRESENCE_LOCK_CLASS } from './locks.js';
import type { Session } from './session.js';

// Streams count only on a hub whose row is live; every read of presence joins through this condition.
const LIVE = 'JOIN hubs h ON h.hub_id = s.hub_id AND h.expires_at > $1';

// Presence writes no event and is never locked by a transaction that writes one: it skips the events lock, so
// stream opens and heartbeats neither wait for the writers of events nor hold them back.
const OWN = { eventsLock: false } as const;

/**
 * Presence on PostgreSQL. `open` takes a transaction-scoped advisory lock on the agent's name before it counts, so
 * hubs opening streams of one agent at once decide one after another (READ COMMITTED: the count, a statement after
 * the lock, sees every open committed before it), and two can never both take the last slot.
 */
export function createPresenceTable(s: Session): PresenceTable {
  return {
    open(hubId, agent, max, now) {
      return s.atomic(async (t) => {
        await t.rows('SELECT pg_advisory_xact_lock($1, hashtext($2))', [PRESENCE_LOCK_CLASS, agent]);
        const [row] = await t.rows<{ n: number }>(
          `SELECT coalesce(sum(s.streams), 0) AS n FROM hub_streams s ${LIVE} WHERE s.agent = $2`,
          [now, agent],
        );
        const streams = row?.n ?? 0;
        if (streams >= max) return { opened: false, streams };
        await t.count(
          `INSERT INTO hub_streams (hub_id, agent, streams) VALUES ($1, $2, 1)
           ON CONFLICT (hub_id, agent) DO UPDATE SET streams = hub_streams.streams + 1`,
          [hubId, agent],
        );
        return { opened: true, streams: streams + 1 };
      }, OWN);
    },

    close(hubId, agent) {
      // The row goes with its last stream (a statement cannot both update and delete one row).
      return s.atomic(async (t) => {
        const gone = await t.count('DELETE FROM hub_streams WHERE hub_id = $1 AND agent = $2 AND streams <= 1', [hubId, agent]);
        if (gone === 0) {
          await t.count('UPDATE hub_streams SET streams = streams - 1 WHERE hub_id = $1 AND agent = $2', [hubId, agent]);
        }
      }, OWN);
    },

    heartbeat(hubId, counts, now, expiresAt) {
      const agents = [...counts].filter(([, n]) => n > 0);
      return s.atomic(async (t) => {
        await t.count(
          `INSERT INTO hubs (hub_id, started_at, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (hub_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
          [hubId, now, expiresAt],
        );
        await t.count('DELETE FROM hub_streams WHERE hub_id = $1 AND NOT (agent = ANY ($2::text[]))', [
          hubId,
          agents.map(([a]) => a),
        ]);
        if (agents.length === 0) return;
        // Rows already right are left alone: a heartbeat of an unchanged hub rewrites nothing.
        await t.count(
          `INSERT INTO hub_streams (hub_id, agent, streams) SELECT $1, a, n FROM unnest($2::text[], $3::int[]) AS c (a, n)
           ON CONFLICT (hub_id, agent) DO UPDATE SET streams = EXCLUDED.streams
           WHERE hub_streams.streams <> EXCLUDED.streams`,
          [hubId, agents.map(([a]) => a), agents.map(([, n]) => n)],
        );
      }, OWN);
    },

    async streams(agents, now) {
      const found = new Map<string, number>();
      if (agents.length === 0) return found;
      const rows = await s.rows<{ agent: string; n: number }>(
        `SELECT s.agent, sum(s.streams) AS n FROM hub_streams s ${LIVE}
         WHERE s.agent = ANY ($2::text[]) AND s.streams > 0 GROUP BY s.agent`,
        [now, agents],
      );
      for (const row of rows) found.set(row.agent, row.n);
      return found;
    },

    async connectedAgents(now) {
      const [row] = await s.rows<{ n: number }>(
        `SELECT count(DISTINCT s.agent) AS n FROM hub_streams s ${LIVE} WHERE s.streams > 0`,
        [now],
      );
      return row?.n ?? 0;
    },

    async liveHubs(now) {
      const [row] = await s.rows<{ n: number }>('SELECT count(*) AS n FROM hubs WHERE expires_at > $1', [now]);
      return row?.n ?? 0;
    },

    removeHub(hubId) {
      return s.atomic(async (t) => {
        await t.count('DELETE FROM hub_streams WHERE hub_id = $1', [hubId]);
        await t.count('DELETE FROM hubs WHERE hub_id = $1', [hubId]);
      }, OWN);
    },

    sweep(now) {
      return s.atomic(async (t) => {
        await t.count('DELETE FROM hub_streams WHERE hub_id IN (SELECT hub_id FROM hubs WHERE expires_at <= $1)', [now]);
        return t.count('DELETE FROM hubs WHERE expires_at <= $1', [now]);
      }, OWN);
    },
  } satisfies PresenceTable;
}
