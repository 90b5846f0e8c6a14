import { HubError } from '../domain/errors.js';
import type { Store, StoreTables } from '../store/store.js';

export interface PresenceSettings {
  /** This hub's id in the store's presence rows (`config.hubId`). */
  hubId: string;
  /** How often the hub re-asserts its row and its streams, ms. Default `PRESENCE_HEARTBEAT_MS`. */
  heartbeatMs?: number;
  /** How long after its last heartbeat a hub's streams still count, ms. Default `PRESENCE_EXPIRY_MS`. */
  expiryMs?: number;
}

/** Default heartbeat of a hub's presence row (ms). */
export const PRESENCE_HEARTBEAT_MS = 5_000;
/**
 * Default expiry of a hub's presence row (ms): four heartbeats may fail before its streams stop counting, and a dead
 * hub's streams stop counting at most this long after its last heartbeat (within the contract's 30 s).
 */
export const PRESENCE_EXPIRY_MS = 20_000;

interface Deps {
  store: Store;
  now: () => number;
  onBackgroundError?: (error: unknown, what: string) => void;
}

/**
 * Which agents hold open streams, on every hub sharing the store. This hub counts its own streams in memory and in
 * the store (`open` decides against the cluster-wide count); a heartbeat pushes its row's expiry forward and
 * re-asserts its whole local state, so streams a failed write left wrong, or rows swept while the hub was cut off,
 * are right again within one heartbeat. Reads go to the store: the cluster view.
 *
 * Writes are shared against the heartbeat's exclusive snapshot: the heartbeat waits for opens and closes in flight
 * (so the counts it writes include them) and holds new ones back until it is written.
 */
export function createPresence({ store, now, onBackgroundError }: Deps, settings: PresenceSettings) {
  const { hubId } = settings;
  const heartbeatMs = settings.heartbeatMs ?? PRESENCE_HEARTBEAT_MS;
  const expiryMs = settings.expiryMs ?? PRESENCE_EXPIRY_MS;
  const local = new Map<string, number>();
  const inFlight = new Set<Promise<unknown>>();
  let beating: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  /** Runs a write beside the others, after any heartbeat being written. */
  const shared = async <T>(write: () => Promise<T>): Promise<T> => {
    while (beating) await beating.catch(() => {});
    const running = write();
    inFlight.add(running);
    const forget = () => inFlight.delete(running);
    running.then(forget, forget);
    return running;
  };

  const beat = async (): Promise<void> => {
    while (beating) await beating.catch(() => {});
    beating = (async () => {
      await Promise.allSettled([...inFlight]);
      const at = now();
      await store.presence.heartbeat(hubId, new Map(local), at, at + expiryMs);
      // Any hub may sweep: the rows of hubs that died would otherwise stay, counting for nothing.
      await store.presence.sweep(at);
    })();
    try {
      await beating;
    } finally {
      beating = undefined;
    }
  };

  const add = (agent: string, by: number) => {
    const n = (local.get(agent) ?? 0) + by;
    if (n > 0) local.set(agent, n);
    else local.delete(agent);
  };

  return {
    hubId,

    /** Writes the hub's row, then keeps it alive every `heartbeatMs`; rejects when the store cannot be reached. */
    async start(): Promise<void> {
      await beat();
      if (stopped) return;
      timer = setInterval(() => {
        beat().catch((error: unknown) => onBackgroundError?.(error, 'presence heartbeat'));
      }, heartbeatMs);
      timer.unref();
    },

    /**
     * Counts one more stream of `agent`, if it has fewer than `max` on all hubs together.
     * @throws HubError `too_many_streams` at the limit; `unavailable` when the store cannot be reached.
     */
    async open(agent: string, max: number): Promise<void> {
      const opening = await shared(async () => {
        const result = await store.presence.open(hubId, agent, max, now());
        if (result.opened) add(agent, 1);
        return result;
      });
      if (!opening.opened) {
        throw new HubError(
          'too_many_streams',
          `"${agent}" already has ${opening.streams} open streams, the most allowed; close one first.`,
          { retryAfterSeconds: 5 },
        );
      }
    },

    /** Counts one stream of `agent` fewer; a failed write is reported, and the next heartbeat corrects it. */
    close(agent: string): void {
      add(agent, -1);
      shared(() => store.presence.close(hubId, agent)).catch((error: unknown) =>
        onBackgroundError?.(error, 'presence close'),
      );
    },

    /** Streams on all hubs of each of `agents` that has any, read through `tables` (a change's tx, or the store). */
    streams(agents: readonly string[], tables: StoreTables = store): Promise<Map<string, number>> {
      return tables.presence.streams(agents, now());
    },

    /** True when this hub itself holds a stream of `agent` (no read needed to know it is connected). */
    isLocal(agent: string): boolean {
      return local.has(agent);
    },

    /** Distinct agents with a stream on any live hub. */
    connectedAgents(): Promise<number> {
      return store.presence.connectedAgents(now());
    },

    /** Hubs whose presence row is live (this one included). */
    liveHubs(): Promise<number> {
      return store.presence.liveHubs(now());
    },

    /** Ends the heartbeat and removes the hub's rows once the writes in flight are done; safe to call twice. */
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      while (beating) await beating.catch(() => {});
      await Promise.allSettled([...inFlight]);
      await store.presence.removeHub(hubId).catch((error: unknown) => onBackgroundError?.(error, 'presence removal'));
    },
  };
}

export type Presence = ReturnType<typeof createPresence>;
