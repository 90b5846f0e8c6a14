import { TOKENS_CHANNEL } from './channels.js';

export const NOTIFY_TOKENS = `SELECT pg_notify('${TOKENS_CHANNEL}', $1)`;
/**
 * How long a name this hub is changing stays out of the cache when no notification of the change arrives, ms (its
 * transaction rolled back, say; a lost notification clears the whole cache anyway, see `listening`).
 */
export const PENDING_CHANGE_MS = 10_000;

/**
 * The hub's copy of agents' token versions, which every request with an agent token checks. On PostgreSQL that
 * check was a round trip per request, the largest cost of an rpc (two requests) in the bench's profile. The copy
 * is kept right by notifications: every transaction that bumps a version or removes an agent notifies
 * TOKENS_CHANNEL with the name, and each hub's feed connection, which LISTENs to it, drops that name. So:
 * - A version is served from the copy only while the feed's connection listens; it is emptied whenever the
 *   connection drops or reconnects (notifications may have been lost meanwhile), and reads go to the database.
 * - A change made through this hub takes the name out of the copy before its transaction and keeps it out until the
 *   notification of that change arrives: this hub refuses a rotated token as soon as the rotation committed.
 * - Another hub's change reaches this hub's copy with its notification, within milliseconds of its commit: a
 *   request that reaches this hub inside that window with the old token is still let in (docs/storage.md).
 * - A read that began before any drop never fills the copy (the generation check), so a drop cannot be undone by
 *   a slow read of the old value.
 * Unknown agents are not kept: only versions found.
 */
export function createTokenVersionCache(now: () => number = Date.now) {
  const versions = new Map<string, number>();
  const pending = new Map<string, number>();
  let listening = false;
  let generation = 0;

  const drop = (name: string) => {
    generation += 1;
    versions.delete(name);
  };
  const isPending = (name: string) => {
    const until = pending.get(name);
    if (until === undefined) return false;
    if (until > now()) return true;
    pending.delete(name);
    return false;
  };

  return {
    /** The version of `name`, from the copy when it may be trusted, else by `load` (which may fill it). */
    async read(name: string, load: () => Promise<number | undefined>): Promise<number | undefined> {
      if (listening) {
        const hit = versions.get(name);
        if (hit !== undefined) return hit;
      }
      const started = generation;
      const version = await load();
      if (version !== undefined && listening && started === generation && !isPending(name)) versions.set(name, version);
      return version;
    },

    /** This hub is about to change `name`'s version or existence. */
    changing(name: string): void {
      drop(name);
      pending.set(name, now() + PENDING_CHANGE_MS);
    },

    /** A committed change of `name` was notified (by any hub, this one included). */
    changed(name: string): void {
      drop(name);
      pending.delete(name);
    },

    /** Whether the feed's connection listens; every change of state empties the copy. */
    listening(on: boolean): void {
      listening = on;
      generation += 1;
      versions.clear();
    },

    /** Names in the copy (for tests). */
    size: () => versions.size,
  };
}

export type TokenVersionCache = ReturnType<typeof createTokenVersionCache>;
