import type { Db } from './db.js';

/**
 * How long the copy trusts itself before it asks the file whether another connection committed to it, ms: the
 * longest a token version changed by another process on the same file (a second hub, against the advice of
 * docs/operations.md) may still be served from memory. PostgreSQL's copy has the same kind of window.
 */
export const FOREIGN_WRITE_CHECK_MS = 1;

/**
 * The store's copy of agents' token versions, which every request with an agent token checks: read from the file,
 * that check was the fifth statement of an rpc by cost (a join of two indexes, 6 µs each time, 1.4 times per rpc
 * under the bench's 64 callers). The copy stays right because:
 * - Every change of a version or of an agent's existence on this store's writer drops the name from the copy at
 *   once, inside its transaction (`changing`), before anything can read the changed row.
 * - Only a read of committed data with no batch open may fill the copy (`mayFill`): a read while a batch is open
 *   runs on the reader connection and sees the versions of before the batch, which its commit may change.
 * - Another connection's commit changes the writer's `PRAGMA data_version` (the writer's own commits do not); the
 *   copy is emptied when it changes, checked at most every FOREIGN_WRITE_CHECK_MS. The checkpointer's connection
 *   changes it too, which only costs a few misses.
 * Unknown agents are not kept: only versions found.
 */
export function createTokenVersionCache(writer: Db, now: () => number = () => performance.now()) {
  const versions = new Map<string, number>();
  const dataVersion = writer.prepare<[], number>('PRAGMA data_version').pluck();
  let seen = dataVersion.get();
  let checkedAt = now();

  const dropIfOthersWrote = () => {
    const at = now();
    if (at - checkedAt < FOREIGN_WRITE_CHECK_MS) return;
    checkedAt = at;
    const current = dataVersion.get();
    if (current === seen) return;
    seen = current;
    versions.clear();
  };

  return {
    /** The version of `name`, from the copy, else by `load` (which fills the copy when `mayFill`). */
    read(name: string, load: () => number | undefined, mayFill: boolean): number | undefined {
      dropIfOthersWrote();
      const hit = versions.get(name);
      if (hit !== undefined) return hit;
      const version = load();
      if (version !== undefined && mayFill) versions.set(name, version);
      return version;
    },

    /** This store's writer is changing `name`'s version or existence (in a transaction that may still roll back). */
    changing(name: string): void {
      versions.delete(name);
    },

    /** Names in the copy (for tests). */
    size: () => versions.size,
  };
}

export type TokenVersionCache = ReturnType<typeof createTokenVersionCache>;
