import type pg from 'pg';
import { translateError } from './pool.js';
import { isWrite, LOCK_EVENTS, NOTIFY, runOn, type Session } from './session.js';

/** Most changes one batch takes in. Each writing change is a subtransaction, and PostgreSQL keeps 64 of them per
 * transaction in shared memory before other sessions' visibility checks must look them up on disk. */
export const MAX_BATCH_CHANGES = 64;
/** How long a batch keeps taking in changes once it has begun, ms; then it commits and the next batch takes the
 * rest. Bounds what a change waits for behind others (its commit waits for theirs). */
export const MAX_BATCH_MS = 20;

/** Thrown to every member of a batch whose COMMIT failed (or whose connection broke): nothing of it was kept. */
export class CommitFailedError extends Error {
  constructor(cause: unknown) {
    super('The change could not be saved (the commit failed); nothing was changed.', { cause });
    this.name = 'CommitFailedError';
  }
}

interface Job {
  fn: (session: Session) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** A batch on the writer's connection: one transaction, each member a savepoint inside it. */
interface Batch {
  client: pg.PoolClient;
  begun: boolean;
  locked: boolean;
  /** A member's savepoint is still there (released with the next member's, or by COMMIT). */
  savepoint: boolean;
  notify: boolean;
  /** Set when a statement outside a member failed or the connection dropped: the batch cannot commit. */
  broken?: unknown;
  members: { job: Job; value: unknown }[];
}

const SAVEPOINT = 'SAVEPOINT change';
const RELEASE = 'RELEASE SAVEPOINT change';
const ROLLBACK_CHANGE = 'ROLLBACK TO SAVEPOINT change; RELEASE SAVEPOINT change';

/**
 * Group commit for the PostgreSQL store. Every transaction (and every multi-statement operation on the pool) is
 * queued for one writer connection, where they run one after another as savepoints inside a single transaction,
 * the batch, which commits once: one WAL flush and one hold of the events lock (locks.ts) for up to
 * {@link MAX_BATCH_CHANGES} changes, instead of one each. Without it every change that writes an event waits for the
 * previous one's flush, so a hub commits a few hundred changes per second at most.
 *
 * - A change that throws rolls back to its savepoint alone; the others of the batch are kept.
 * - A failed COMMIT (or a connection lost mid-batch) rejects every member: nothing of the batch was kept.
 * - Members resolve after the COMMIT, in the order they ran; other hubs are notified once per batch.
 * - The batch begins with its first statement, and takes the events lock before its first write, as a single
 *   transaction did: a batch waiting for that lock holds no row lock, so no cycle forms with other hubs' batches.
 * - Round trips: the writer's connection pipelines (each query is sent without waiting for the previous answer).
 *   BEGIN, the lock and each member's savepoint go out together with the statement that needs them; a `write`
 *   (a statement whose answer nobody reads) is only sent; the NOTIFY goes with the COMMIT.
 *
 * Members must await only their own statements: the next member starts when the previous one settled.
 */
export function createGroupCommit(writer: pg.Pool) {
  const queue: Job[] = [];
  let running: Promise<void> | undefined;

  /** Runs the queued jobs in batches until the queue is empty. */
  const drain = async () => {
    while (queue.length > 0) await runBatch();
    running = undefined;
  };

  const runBatch = async () => {
    let client: pg.PoolClient;
    try {
      client = await writer.connect();
    } catch (error) {
      // The database is unreachable: every change waiting now would wait as long to fail the same way.
      for (const job of queue.splice(0)) job.reject(toStoreError(error));
      return;
    }
    const batch: Batch = { client, begun: false, locked: false, savepoint: false, notify: false, members: [] };
    const onError = (error: Error) => (batch.broken ??= error);
    client.on('error', onError);
    const started = Date.now();
    try {
      while (queue.length > 0 && batch.members.length < MAX_BATCH_CHANGES && !batch.broken) {
        if (batch.begun && Date.now() - started >= MAX_BATCH_MS) break;
        await runMember(batch, queue.shift()!);
      }
      await finish(batch);
    } finally {
      client.off('error', onError);
      client.release(batch.broken === undefined ? undefined : asError(batch.broken));
    }
  };

  /** Runs one job inside the batch; it joins the members, or rolls back alone and rejects at once. */
  const runMember = async (batch: Batch, job: Job) => {
    let open = true;
    let ownSavepoint = false;
    let notify = false;
    // A statement of this member failed: the transaction is aborted until the member's savepoint is rolled back.
    let failed: { error: unknown } | undefined;
    // Writes sent and not yet answered (`write`): the member is over only once they are.
    const unanswered = new Set<Promise<unknown>>();
    /** What must go before `sql` (BEGIN, the events lock, this member's savepoint); sent at once, unawaited. */
    const prefixFor = (sql: string): Promise<unknown> | undefined => {
      const parts: string[] = [];
      if (!batch.begun) parts.push('BEGIN');
      if (!batch.locked && isWrite(sql)) parts.push(LOCK_EVENTS);
      if (!ownSavepoint) parts.push(...(batch.savepoint ? [RELEASE, SAVEPOINT] : [SAVEPOINT]));
      if (parts.length === 0) return undefined;
      batch.begun = true;
      batch.locked ||= parts.includes(LOCK_EVENTS);
      batch.savepoint = ownSavepoint = true;
      return simple(batch, parts.join('; '));
    };
    // The writer's connection pipelines: the prefix and the statement go out together, one round trip for both.
    // If the prefix fails the statement fails too, and the batch is broken (simple() marked it).
    const statement = (sql: string, params?: readonly unknown[]) => {
      if (!open) throw new Error('store: this transaction is over; use the tx only inside its fn');
      const prefix = prefixFor(sql);
      const sent = runOn(batch.client, sql, params);
      sent.catch(() => {}); // awaited below, after the prefix
      const answered = (async () => {
        try {
          await prefix;
          return await sent;
        } catch (error) {
          failed ??= { error };
          throw error;
        }
      })();
      return answered;
    };
    const session: Session = {
      rows: async <R>(sql: string, params?: readonly unknown[]) => (await statement(sql, params)).rows as R[],
      count: async (sql, params) => (await statement(sql, params)).rowCount ?? 0,
      async write(sql, params) {
        const answered = statement(sql, params).catch(() => {});
        unanswered.add(answered);
        void answered.then(() => unanswered.delete(answered));
      },
      atomic: (fn) => fn(session),
      async wroteEvents() {
        notify = true;
      },
    };
    try {
      const value = await job.fn(session);
      await Promise.all(unanswered);
      // A fn that caught its own failed statement cannot be kept (PostgreSQL would refuse everything after it).
      if (failed) throw failed.error;
      open = false;
      batch.notify ||= notify;
      batch.members.push({ job, value });
    } catch (error) {
      open = false;
      await Promise.all(unanswered);
      if (ownSavepoint && !batch.broken) {
        await simple(batch, ROLLBACK_CHANGE).then(
          () => (batch.savepoint = false),
          (rollbackError: unknown) => (batch.broken ??= rollbackError),
        );
      }
      job.reject(error);
    }
  };

  /** Commits the batch and settles its members: all resolved, or all rejected when it cannot commit. */
  const finish = async (batch: Batch) => {
    if (batch.begun && !batch.broken) {
      await simple(batch, batch.notify ? `${NOTIFY}; COMMIT` : 'COMMIT').catch((error: unknown) => (batch.broken ??= error));
    }
    if (batch.broken !== undefined) {
      // The connection is discarded with the batch (runBatch releases it with the error), so nothing is left open.
      const failure = toStoreError(batch.broken);
      for (const m of batch.members) m.job.reject(failure);
      return;
    }
    for (const m of batch.members) m.job.resolve(m.value);
  };

  return {
    /** Runs `fn` as one change of a batch; resolves with its value once the batch has committed. */
    transaction<T>(fn: (session: Session) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        running ??= drain();
      });
    },
  };
}

/**
 * A statement outside the members' own (BEGIN, savepoints, COMMIT) on the batch's connection. Its failure breaks
 * the batch; an unreachable database rejects with `HubError('unavailable')`, as the members' statements do.
 */
const simple = async (batch: Batch, text: string) => {
  try {
    return await batch.client.query(text);
  } catch (error) {
    batch.broken ??= error;
    return translateError(error);
  }
};

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

/** The error a member of a failed batch gets: `unavailable` when the database could not be reached. */
function toStoreError(error: unknown): Error {
  try {
    translateError(error);
  } catch (translated) {
    if (translated !== error) return translated as Error;
  }
  return new CommitFailedError(error);
}

export type GroupCommit = ReturnType<typeof createGroupCommit>;
