import { clearImmediate, setImmediate, setTimeout } from 'node:timers';
import type { Db } from './db.js';

/** Told about a COMMIT that failed (its whole batch was rolled back). */
export type CommitErrorListener = (error: unknown) => void;

/** Thrown to every member of a batch whose COMMIT failed. */
export class CommitFailedError extends Error {
  constructor(cause: unknown) {
    super('The change could not be saved (the commit failed); nothing was changed.', { cause });
    this.name = 'CommitFailedError';
  }
}

/**
 * How long a transaction waits for the write lock another connection (another process on the file) holds, ms,
 * before it rejects with SQLITE_BUSY. It waits on timers, never blocking the event loop as a busy_timeout would.
 */
export const WRITE_LOCK_WAIT_MS = 5000;
/** Longest pause between two tries at the write lock, ms. */
const WRITE_LOCK_RETRY_MAX_MS = 50;

const isBusy = (error: unknown) => String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY');

/** Holds new batches back while something needs the database without a writer for a moment (the WAL restart). */
export interface CommitGate {
  /** What the next batch waits for before it begins, or undefined when it may begin now. */
  closed(): Promise<void> | undefined;
  /** Told after each batch ends (its COMMIT or its ROLLBACK): the write lock is free until the next begins. */
  committed(): void;
}

interface Job {
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** A change of the open batch that ran: what it resolves with once the batch commits. */
interface Member {
  job: Job;
  value: unknown;
}

/**
 * Group commit on one better-sqlite3 connection. Transactions run one after another (a queue: the next one's
 * `fn` starts only after the previous one settled); the first opens a batch (`BEGIN IMMEDIATE`), the others join
 * it. One `COMMIT` at the end of the event-loop turn (`setImmediate`) makes the whole batch durable and resolves
 * its transactions, in the order they ran; if it fails, all of them reject and nothing of the batch is kept. A
 * commit writes each touched page once instead of once per change: that is the point.
 *
 * Bare, then careful, as the PostgreSQL group commit does:
 * - A change runs bare, without a savepoint of its own (a savepoint costs two statements and copies every page
 *   the change touches to the statement journal first). One that throws having written nothing (the connection's
 *   `total_changes()` did not move: a failed statement undoes itself) is rejected and the batch goes on; one that
 *   throws alone in its batch rolls the batch back.
 * - One that throws after writing, with other changes in the batch, cannot be undone alone: the batch is rolled
 *   back and run again, every change a savepoint (careful), so that the one that throws again rolls back alone.
 *   A change's `fn` may so run twice; only the run that commits counts (the store's rule, store.ts).
 *
 * A transaction's `fn` must await only its own operations (microtasks, since SQLite calls are synchronous): the
 * COMMIT waits for a running `fn` to settle, so a `fn` awaiting outside I/O holds every change back.
 */
export function createGroupCommit(db: Db, onCommitError: CommitErrorListener = () => {}, gate?: CommitGate) {
  const stmt = {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    savepoint: db.prepare('SAVEPOINT change'),
    release: db.prepare('RELEASE change'),
    rollbackTo: db.prepare('ROLLBACK TO change'),
    totalChanges: db.prepare('SELECT total_changes()').pluck(),
  };
  const queue: Job[] = [];
  let members: Member[] = [];
  let open = false;
  /** The open batch runs every change as a savepoint: it is the second run of a batch that could not be kept. */
  let careful = false;
  let running = false;
  let commitWanted = false;
  let immediate: NodeJS.Immediate | undefined;
  let idle: (() => void) | undefined;

  /** Tells every member of the batch, in the order they ran. */
  const settleBatch = (error: unknown) => {
    const batch = members;
    members = [];
    for (const m of batch) {
      if (error === undefined) m.job.resolve(m.value);
      else m.job.reject(new CommitFailedError(error));
    }
  };

  /**
   * Ends the open batch, after its COMMIT or (`rollBack`) keeping nothing of it; SQLite may have rolled it back
   * already. The write lock is free from here until the next batch begins.
   */
  const endBatch = ({ rollBack }: { rollBack: boolean }) => {
    open = false;
    careful = false;
    clearImmediate(immediate);
    immediate = undefined;
    if (rollBack && db.inTransaction) stmt.rollback.run();
    gate?.committed();
  };

  const commit = () => {
    immediate = undefined;
    if (!open) return;
    if (running) {
      commitWanted = true;
      return;
    }
    let failure: unknown;
    try {
      stmt.commit.run();
    } catch (error) {
      failure = error;
    }
    endBatch({ rollBack: failure !== undefined });
    if (failure !== undefined) onCommitError(failure);
    settleBatch(failure);
  };

  /** Opens the batch if the write lock is free; false when another connection holds it. */
  const tryBegin = (): boolean => {
    try {
      stmt.begin.run();
    } catch (error) {
      if (isBusy(error)) return false;
      throw error;
    }
    open = true;
    immediate = setImmediate(commit);
    return true;
  };

  /** Waits (on timers) for another connection to let the write lock go, then opens the batch. */
  const waitForLock = async () => {
    const started = Date.now();
    for (let pause = 1; ; pause = Math.min(pause * 2, WRITE_LOCK_RETRY_MAX_MS)) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (tryBegin()) return;
      if (Date.now() - started >= WRITE_LOCK_WAIT_MS) {
        throw Object.assign(new Error(`database is locked (waited ${WRITE_LOCK_WAIT_MS} ms)`), { code: 'SQLITE_BUSY' });
      }
    }
  };

  /** Runs one transaction's `fn` in the open batch (opening it first): bare, or as a savepoint when careful. */
  const runJob = async (job: Job) => {
    if (!open) {
      const gateClosed = gate?.closed();
      if (gateClosed) await gateClosed;
      if (!open && !tryBegin()) await waitForLock();
    }
    const guarded = careful;
    const changesBefore = guarded ? 0 : (stmt.totalChanges.get() as number);
    if (guarded) stmt.savepoint.run();
    let value: unknown;
    try {
      value = await job.run();
    } catch (error) {
      if (!db.inTransaction) {
        // Some errors (disk full, I/O) make SQLite roll back the whole transaction, not just the change.
        if (open) {
          endBatch({ rollBack: true });
          settleBatch(error);
        }
      } else if (guarded) {
        stmt.rollbackTo.run();
        stmt.release.run();
      } else if (stmt.totalChanges.get() !== changesBefore) {
        // It wrote: only a rollback of the whole batch takes that out. Alone, the batch holds nothing else to keep;
        // with others, the batch runs again, carefully, this change last.
        const again = [...members.map((m) => m.job), job];
        members = [];
        endBatch({ rollBack: true });
        if (again.length > 1) {
          careful = true;
          queue.unshift(...again);
          return;
        }
      }
      job.reject(error);
      return;
    }
    if (guarded) stmt.release.run();
    members.push({ job, value });
  };

  const next = () => {
    const job = queue.shift();
    if (!job) {
      running = false;
      if (commitWanted) {
        commitWanted = false;
        commit();
      }
      idle?.();
      return;
    }
    running = true;
    runJob(job).then(next, (error: unknown) => {
      // BEGIN failed (the file stayed locked by another process past busy_timeout), or a savepoint statement did.
      job.reject(error);
      next();
    });
  };

  return {
    /** Runs `run` as one change of the current batch; resolves with its value once the batch has committed. */
    transaction<T>(run: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
        if (!running) next();
      });
    },

    /** True while a batch is open on the connection (its reads would see uncommitted rows). */
    isOpen: (): boolean => open,

    /** Lets queued transactions finish, then commits now. */
    async flush(): Promise<void> {
      if (running) await new Promise<void>((resolve) => (idle = resolve));
      idle = undefined;
      clearImmediate(immediate);
      commit();
    },
  };
}

export type GroupCommit = ReturnType<typeof createGroupCommit>;
