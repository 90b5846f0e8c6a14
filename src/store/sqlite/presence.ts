import type { PresenceTable, StreamOpening } from '../store.js';
import type { Db } from './db.js';
import type { SyncTable } from './sync.js';

// Streams count only on a hub whose row is live; every read of presence joins through this condition.
const LIVE = 'JOIN hubs h ON h.hub_id = s.hub_id AND h.expires_at > ?';

/**
 * Presence on SQLite. One writer at a time on the file makes `open`'s count-then-add atomic: it runs inside the
 * store's transaction, which no other write interleaves with.
 */
export function createPresenceTable(db: Db): SyncTable<PresenceTable> {
  const q = {
    agentStreams: db.prepare<[number, string], number>(
      `SELECT coalesce(sum(s.streams), 0) FROM hub_streams s ${LIVE} WHERE s.agent = ?`,
    ),
    add: db.prepare(
      `INSERT INTO hub_streams (hub_id, agent, streams) VALUES (?, ?, 1)
       ON CONFLICT (hub_id, agent) DO UPDATE SET streams = streams + 1`,
    ),
    remove: db.prepare('UPDATE hub_streams SET streams = streams - 1 WHERE hub_id = ? AND agent = ? AND streams > 0'),
    dropEmpty: db.prepare('DELETE FROM hub_streams WHERE hub_id = ? AND agent = ? AND streams = 0'),
    upsertHub: db.prepare(
      `INSERT INTO hubs (hub_id, started_at, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (hub_id) DO UPDATE SET expires_at = excluded.expires_at`,
    ),
    clearStreams: db.prepare('DELETE FROM hub_streams WHERE hub_id = ?'),
    setStreams: db.prepare('INSERT INTO hub_streams (hub_id, agent, streams) VALUES (?, ?, ?)'),
    streamsOf: db.prepare<[number, string], { agent: string; n: number }>(
      `SELECT s.agent AS agent, sum(s.streams) AS n FROM hub_streams s ${LIVE}
       WHERE s.agent IN (SELECT value FROM json_each(?)) AND s.streams > 0 GROUP BY s.agent`,
    ),
    connected: db.prepare<[number], number>(
      `SELECT count(DISTINCT s.agent) FROM hub_streams s ${LIVE} WHERE s.streams > 0`,
    ),
    liveHubs: db.prepare<[number], number>('SELECT count(*) FROM hubs WHERE expires_at > ?'),
    removeHub: db.prepare('DELETE FROM hubs WHERE hub_id = ?'),
    sweepStreams: db.prepare('DELETE FROM hub_streams WHERE hub_id IN (SELECT hub_id FROM hubs WHERE expires_at <= ?)'),
    sweepHubs: db.prepare('DELETE FROM hubs WHERE expires_at <= ?'),
  };
  q.agentStreams.pluck();
  q.connected.pluck();
  q.liveHubs.pluck();

  const ops = {
    open(hubId: string, agent: string, max: number, now: number): StreamOpening {
      const streams = q.agentStreams.get(now, agent) as number;
      if (streams >= max) return { opened: false, streams };
      q.add.run(hubId, agent);
      return { opened: true, streams: streams + 1 };
    },

    close(hubId: string, agent: string): void {
      q.remove.run(hubId, agent);
      q.dropEmpty.run(hubId, agent);
    },

    heartbeat(hubId: string, counts: ReadonlyMap<string, number>, now: number, expiresAt: number): void {
      q.upsertHub.run(hubId, now, expiresAt);
      // A handful of rows per hub: rewriting them all is cheaper than working out which changed.
      q.clearStreams.run(hubId);
      for (const [agent, n] of counts) if (n > 0) q.setStreams.run(hubId, agent, n);
    },

    streams(agents: readonly string[], now: number): Map<string, number> {
      const found = new Map<string, number>();
      if (agents.length === 0) return found;
      // One statement for the whole list; the list is bound, a JSON array read by json_each.
      const rows = q.streamsOf.all(now, JSON.stringify(agents));
      for (const row of rows) found.set(row.agent, row.n);
      return found;
    },

    connectedAgents(now: number): number {
      return q.connected.get(now) as number;
    },

    liveHubs(now: number): number {
      return q.liveHubs.get(now) as number;
    },

    removeHub(hubId: string): void {
      q.clearStreams.run(hubId);
      q.removeHub.run(hubId);
    },

    sweep(now: number): number {
      q.sweepStreams.run(now);
      return q.sweepHubs.run(now).changes;
    },
  };
  return { ops, writes: ['open', 'close', 'heartbeat', 'removeHub', 'sweep'] };
}
