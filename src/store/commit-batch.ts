import { setImmediate } from 'node:timers';
import type { Db } from './db.js';

/** Told whether the writes it waited for were committed (`false`: they were rolled back). */
export type CommitListener = (committed: boolean) => void;

/**
 * Group commit. Changes made while `batched(fn)` runs (the HTTP layer wraps each request's synchronous work in
 * it) share one transaction, committed once at the end of the event-loop turn (`setImmediate`): each change is a
 * savepoint inside it, so a change that throws still rolls back alone, and a commit writes each touched page once
 * instead of once per change. Whoever answers for a batched change waits for `afterCommit`, so nothing is
 * acknowledged before it is durable (WAL, synchronous NORMAL, as before). Outside `batched`, `run` commits at once
 * (after committing any open batch first), exactly like a plain IMMEDIATE transaction.
 */
export function createCommitBatch(db: Db, onCommitError: (error: unknown) => void = () => {}) {
  let body: () => unknown = () => undefined;
  // One better-sqlite3 transaction function reused for every change (making one per call showed in profiles):
  // called inside the open batch it is a savepoint, called alone `.immediate()` is BEGIN IMMEDIATE … COMMIT.
  const inTransaction = db.transaction(() => body());
  let gated = 0;
  let open = false;
  let listeners: CommitListener[] = [];

  const settle = (committed: boolean) => {
    const waiting = listeners;
    listeners = [];
    for (const listener of waiting) listener(committed);
  };

  /** Commits the open batch (if any) and tells everyone waiting for it. */
  const commit = () => {
    if (!open) return;
    open = false;
    let committed = true;
    try {
      db.exec('COMMIT');
    } catch (error) {
      committed = false;
      if (db.inTransaction) db.exec('ROLLBACK');
      onCommitError(error);
    }
    settle(committed);
  };

  const call = <T>(fn: () => T, alone: boolean): T => {
    const outer = body;
    body = fn;
    try {
      return (alone ? inTransaction.immediate() : inTransaction()) as T;
    } finally {
      body = outer;
    }
  };

  return {
    /** Runs `fn` as one change: in the open batch when batching, else in a transaction of its own. */
    run<T>(fn: () => T): T {
      if (gated === 0 || (db.inTransaction && !open)) {
        // Not batching (or nested in a transaction someone else opened): commit any open batch first, so that this
        // change is durable when `run` returns, as a plain transaction would be.
        if (open) commit();
        return call(fn, !db.inTransaction);
      }
      if (!open) {
        db.exec('BEGIN IMMEDIATE');
        open = true;
        setImmediate(commit);
      }
      try {
        return call(fn, false);
      } catch (error) {
        // Some errors (disk full, I/O) make SQLite roll back the whole transaction, not just the savepoint.
        if (open && !db.inTransaction) {
          open = false;
          settle(false);
        }
        throw error;
      }
    },

    /** Runs `fn` with batching on: changes it makes synchronously join the batch. */
    batched<T>(fn: () => T): T {
      gated += 1;
      try {
        return fn();
      } finally {
        gated -= 1;
      }
    },

    /** True while changes wait for the batch to commit. */
    pending: (): boolean => open,

    /** Calls `listener` once what is written so far has committed or failed (at once, `true`, if nothing waits). */
    afterCommit(listener: CommitListener): void {
      if (open) listeners.push(listener);
      else listener(true);
    },

    /** Commits the open batch now. */
    flush: commit,
  };
}

export type CommitBatch = ReturnType<typeof createCommitBatch>;
