import type pg from 'pg';
import type { HubEvent } from '../../domain/types.js';
import { EVENTS_CHANNEL } from './channels.js';
import { translateError } from './pool.js';
import { isWrite, LOCK_EVENTS, runOn, type Session } from './session.js';

/**
 * Most changes one batch takes in. Run one by one (the fallback below), each writing change is a subtransaction,
 * and PostgreSQL keeps 64 of them per transaction in shared memory before other sessions' visibility checks must
 * look them up on disk.
 */
export const MAX_BATCH_CHANGES = 64;
/**
 * How long a batch run one by one keeps taking in changes once it has begun, ms; the rest go to the next batch.
 * Bounds what a change waits for behind others (its commit waits for theirs).
 */
export const MAX_BATCH_MS = 20;
/**
 * How long a batch running its changes together takes in changes queued after it began, ms: long enough to gather
 * what arrives while its first changes run, short enough that its commit is not held back by a stream of arrivals.
 */
export const JOIN_MS = 5;

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

/** The writer's connection for one batch; `broken` once a statement outside a member failed or it dropped. */
interface Connection {
  client: pg.PoolClient;
  broken?: unknown;
}

/** The transaction open on the connection. */
interface Transaction {
  begun: boolean;
  locked: boolean;
  /** The newest event id committed when this transaction took the events lock (read right after it). */
  committedBefore?: number;
}

/** How one member's fn ended, and what it did on the way. */
interface Outcome {
  job: Job;
  ok: boolean;
  value?: unknown;
  error?: unknown;
  /** A statement of it wrote or locked rows (one that matched none does not count). */
  wrote: boolean;
  /** The events it appended. */
  events: HubEvent[];
}

const SAVEPOINT = 'SAVEPOINT change';
const RELEASE = 'RELEASE SAVEPOINT change';
const ROLLBACK_CHANGE = 'ROLLBACK TO SAVEPOINT change; RELEASE SAVEPOINT change';

/**
 * Group commit for the PostgreSQL store. Every transaction (and every multi-statement operation on the pool) is
 * queued for one writer connection, where the queued changes run as one transaction, the batch, which commits
 * once: one WAL flush and one hold of the events lock (locks.ts) for up to {@link MAX_BATCH_CHANGES} changes,
 * instead of one each. Without it every change that writes an event waits for the previous one's flush.
 *
 * Together, then one by one:
 * - A batch first runs all its changes at once, interleaved on the connection, which pipelines (each query is sent
 *   without waiting for the previous answer): the batch costs about the round trips of its longest change, not the
 *   sum of all of theirs. The changes see one another's writes as they would across hubs (each statement atomic,
 *   none isolated from the others), which the store is written for: every decision that must hold is a guarded
 *   statement, and `serialize(key)` keeps two changes of the batch from holding the same key at once (a row lock
 *   does not separate them: they share the transaction).
 * - When that cannot be kept as it is (a statement failed, which aborts the whole transaction; a change that wrote
 *   threw; two changes would wait for each other's keys), the batch is rolled back and run again one change after
 *   another, each a savepoint: one that throws rolls back alone. So a change's fn may run twice; only the run that
 *   commits counts, which the store's rule (no effects outside the store until it resolved) makes safe.
 * - A failed COMMIT (or a connection lost mid-batch) rejects every member: nothing of the batch was kept.
 * - Members settle after the COMMIT, in the order they were queued; other hubs are notified once per batch.
 * - The batch begins with its first statement, and takes the events lock before its first write, as a single
 *   transaction did: a batch waiting for that lock holds no row lock, so no cycle forms with other hubs' batches.
 * - BEGIN, the lock and a savepoint go out together with the statement that needs them; a `write` (a statement
 *   whose answer nobody reads) is only sent; the NOTIFY goes with the COMMIT.
 *
 * Members must await only their own statements.
 */
export function createGroupCommit(writer: pg.Pool, options: GroupCommitOptions = {}) {
  const notify = `SELECT pg_notify('${EVENTS_CHANNEL}', '${options.notifyPayload ?? ''}')`;
  const queue: Job[] = [];
  let running: Promise<void> | undefined;
  /** Takes the queued jobs into the batch running together, while it takes any. */
  let joinRunning: (() => void) | undefined;

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
    const conn: Connection = { client };
    const onError = (error: Error) => (conn.broken ??= error);
    client.on('error', onError);
    try {
      const jobs = (options.together ?? true) ? await runTogether(conn) : queue.splice(0, MAX_BATCH_CHANGES);
      if (jobs) await runOneByOne(conn, jobs);
    } finally {
      client.off('error', onError);
      client.release(conn.broken === undefined ? undefined : asError(conn.broken));
    }
  };

  /**
   * Runs the queued jobs at once in one transaction, taking in those queued meanwhile for the first
   * {@link JOIN_MS} ms, and settles them; returns them instead when they must run again one by one (the
   * transaction was rolled back and nothing settled).
   */
  const runTogether = async (conn: Connection): Promise<Job[] | undefined> => {
    const tx: Transaction = { begun: false, locked: false };
    const state: TogetherState = { aborted: false, keysCrossed: false, holders: new Map() };
    const jobs: Job[] = [];
    const outcomes: Outcome[] = [];
    const started = Date.now();
    let running = 0;
    // Set when the last member is over: from then on the batch commits, and a change queued meanwhile waits for
    // the next batch (one let in now would run beside the COMMIT, and never be settled).
    let over = false;
    let allOver = () => {};
    // A change queued while the batch runs joins it at once instead of waiting for its commit. Those queued before
    // it began are taken whatever the clock says: a process descheduled between `started` and the first admit
    // (a loaded machine does that for more than JOIN_MS) would otherwise start a batch of no members, which never
    // ends, and every change behind it would wait for ever.
    const admit = (joining: boolean) => {
      while (!over && queue.length > 0 && jobs.length < MAX_BATCH_CHANGES && !state.aborted && !state.keysCrossed &&
        (!joining || Date.now() - started < JOIN_MS)) {
        const job = queue.shift()!;
        const i = jobs.push(job) - 1;
        running += 1;
        void runJoined(conn, tx, state, job).then((outcome) => {
          outcomes[i] = outcome;
          running -= 1;
          if (running === 0) {
            over = true;
            allOver();
          }
        });
      }
    };
    admit(false);
    if (jobs.length === 0) return undefined; // nothing was queued: a batch of no members would never end
    await new Promise<void>((resolve) => {
      allOver = resolve;
      joinRunning = () => admit(true);
    });
    joinRunning = undefined;
    const keepable = !state.aborted && !state.keysCrossed && !outcomes.some((o) => !o.ok && o.wrote);
    if (conn.broken === undefined && !keepable) {
      if (tx.begun) await simple(conn, 'ROLLBACK').catch(() => {});
      if (conn.broken === undefined) {
        // A change alone needs no second run: what it did is what it would do again.
        if (jobs.length > 1) return jobs;
        jobs[0]!.reject(outcomes[0]!.error);
        return undefined;
      }
    }
    await settle(conn, tx, outcomes);
    return undefined;
  };

  /** Runs `jobs` one after another, each a savepoint of the batch, and settles them. */
  const runOneByOne = async (conn: Connection, jobs: Job[]) => {
    const tx: Transaction = { begun: false, locked: false };
    const savepoint = { held: false };
    const outcomes: Outcome[] = [];
    const started = Date.now();
    for (const [i, job] of jobs.entries()) {
      if (conn.broken !== undefined || (tx.begun && Date.now() - started >= MAX_BATCH_MS)) {
        queue.unshift(...jobs.slice(i));
        break;
      }
      const outcome = await runAlone(conn, tx, savepoint, job);
      if (outcome.ok) outcomes.push(outcome);
      else outcome.job.reject(outcome.error);
    }
    await settle(conn, tx, outcomes);
  };

  /**
   * Commits the batch and settles its members: the kept ones resolved, or all rejected when it cannot commit.
   * The events of a batch that committed go to `onCommitted` first, so that they are on the bus when a member's
   * caller goes on.
   */
  const settle = async (conn: Connection, tx: Transaction, outcomes: Outcome[]) => {
    const events = outcomes.flatMap((o) => (o.ok ? o.events : []));
    if (tx.begun && conn.broken === undefined) {
      await simple(conn, events.length > 0 ? `${notify}; COMMIT` : 'COMMIT').catch(() => {}); // simple() marked the batch broken
    }
    if (conn.broken !== undefined) {
      // The connection is discarded with the batch (runBatch releases it with the error), so nothing is left open.
      // A COMMIT whose answer was lost may still have committed: the feed reads to find out.
      if (events.length > 0) options.onUnknownOutcome?.();
      const failure = toStoreError(conn.broken);
      for (const o of outcomes) o.job.reject(failure);
      return;
    }
    if (events.length > 0) options.onCommitted?.(events, tx.committedBefore ?? 0);
    for (const o of outcomes) {
      if (o.ok) o.job.resolve(o.value);
      else o.job.reject(o.error);
    }
  };

  return {
    /** Runs `fn` as one change of a batch; resolves with its value once the batch has committed. */
    transaction<T>(fn: (session: Session) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        joinRunning?.();
        running ??= drain();
      });
    },
  };
}

export interface GroupCommitOptions {
  /** Run a batch's changes together first (see createGroupCommit); default true. False: always one by one. */
  together?: boolean;
  /** What this store's NOTIFYs carry (the feed's `ownPayload`: it skips reading its own hub's commits). */
  notifyPayload?: string;
  /** Told the events of each batch that committed, and the newest id others had committed before it. */
  onCommitted?: (events: HubEvent[], committedBefore: number) => void;
  /** Told when a batch with events lost its connection at COMMIT: it may have committed. */
  onUnknownOutcome?: () => void;
}

/** What the members of a batch run together share besides the transaction. */
interface TogetherState {
  /** A statement failed: PostgreSQL refuses everything after it until the transaction ends. */
  aborted: boolean;
  /** A member holding a key asked for one another member held: the batch runs again one by one. */
  keysCrossed: boolean;
  /** Each key a member holds, with what resolves when that member is over. */
  holders: Map<string, Promise<void>>;
}

/** Runs one member together with the others of its batch; never rejects (the outcome says how it ended). */
async function runJoined(conn: Connection, tx: Transaction, state: TogetherState, job: Job): Promise<Outcome> {
  const outcome: Outcome = { job, ok: false, wrote: false, events: [] };
  let open = true;
  let failed: { error: unknown } | undefined;
  const unanswered = new Set<Promise<unknown>>();
  const held: string[] = [];
  let over: () => void = () => {};
  const done = new Promise<void>((resolve) => (over = resolve));

  const statement = (sql: string, params?: readonly unknown[]) => {
    if (!open) throw new Error('store: this transaction is over; use the tx only inside its fn');
    const write = isWrite(sql);
    const answered = sendAfter(conn, beginFor(conn, tx, write, []), sql, params, (error) => {
      failed ??= { error };
      state.aborted = true;
    });
    return answered.then((result) => {
      // A guarded UPDATE that matched nothing changed nothing: a change that throws after it can still go.
      if (write && (result.rowCount ?? 1) > 0) outcome.wrote = true;
      return result;
    });
  };
  const session = sessionOn(statement, unanswered, (event) => outcome.events.push(event), async (key) => {
    for (;;) {
      if (held.includes(key)) return;
      const holder = state.holders.get(key);
      if (!holder) {
        state.holders.set(key, done);
        held.push(key);
        return;
      }
      // Waiting while holding a key could close a cycle with the holder: run the batch one by one instead.
      if (held.length > 0) {
        state.keysCrossed = true;
        throw new Error('store: two changes of one batch wait for each other; it runs again one by one');
      }
      await holder;
    }
  });
  try {
    await runFn(outcome, session, unanswered, () => failed);
  } finally {
    open = false;
    for (const key of held) state.holders.delete(key);
    over();
  }
  return outcome;
}

/** Runs one member alone inside the batch, as a savepoint: one that throws rolls back to it alone. */
async function runAlone(conn: Connection, tx: Transaction, savepoint: { held: boolean }, job: Job): Promise<Outcome> {
  const outcome: Outcome = { job, ok: false, wrote: false, events: [] };
  let open = true;
  let own = false;
  let failed: { error: unknown } | undefined;
  const unanswered = new Set<Promise<unknown>>();
  const statement = (sql: string, params?: readonly unknown[]) => {
    if (!open) throw new Error('store: this transaction is over; use the tx only inside its fn');
    const write = isWrite(sql);
    const parts = own ? [] : savepoint.held ? [RELEASE, SAVEPOINT] : [SAVEPOINT];
    own = savepoint.held = true;
    // If the prefix fails the statement fails too, and the batch is broken (simple() marked it).
    return sendAfter(conn, beginFor(conn, tx, write, parts), sql, params, (error) => (failed ??= { error }));
  };
  // Alone in its turn, a member needs no key: nothing else of the batch runs meanwhile.
  const session = sessionOn(statement, unanswered, (event) => outcome.events.push(event), async () => {});
  try {
    await runFn(outcome, session, unanswered, () => failed);
    if (!outcome.ok && own && conn.broken === undefined) {
      await simple(conn, ROLLBACK_CHANGE).then(() => (savepoint.held = false), () => {});
    }
  } finally {
    open = false;
  }
  return outcome;
}

/**
 * Runs the member's fn and waits for its unanswered writes; sets `outcome.ok` and its value, or its error. A fn
 * that caught its own failed statement is not ok either (PostgreSQL refuses everything after that statement).
 */
async function runFn(outcome: Outcome, session: Session, unanswered: Set<Promise<unknown>>, failed: () => { error: unknown } | undefined) {
  try {
    outcome.value = await outcome.job.fn(session);
    await Promise.all(unanswered);
    const caught = failed();
    if (caught) throw caught.error;
    outcome.ok = true;
  } catch (error) {
    await Promise.all(unanswered);
    outcome.error = error;
  }
}

/**
 * Sends `sql` right behind `prefix` (one round trip for both) and answers it once both are answered; `onFailed`
 * hears a failure of either before the caller does.
 */
function sendAfter(
  conn: Connection,
  prefix: Promise<unknown> | undefined,
  sql: string,
  params: readonly unknown[] | undefined,
  onFailed: (error: unknown) => void,
): Promise<pg.QueryResult> {
  const sent = runOn(conn.client, sql, params);
  sent.catch(() => {}); // awaited below, after the prefix
  return (async () => {
    try {
      await prefix;
      return await sent;
    } catch (error) {
      onFailed(error);
      throw error;
    }
  })();
}

/**
 * Sends what must go before a statement (BEGIN, the events lock before the first write, then `parts`) at once,
 * unawaited: it and the statement go out together, one round trip for both.
 */
function beginFor(conn: Connection, tx: Transaction, write: boolean, parts: string[]): Promise<unknown> | undefined {
  const prefix: string[] = [];
  if (!tx.begun) prefix.push('BEGIN');
  const locking = write && !tx.locked;
  if (locking) prefix.push(LOCK_EVENTS, LAST_COMMITTED);
  prefix.push(...parts);
  tx.begun = true;
  tx.locked ||= write;
  if (prefix.length === 0) return undefined;
  const sent = simple(conn, prefix.join('; '));
  if (locking) {
    sent.then((results) => {
      const found = ([] as pg.QueryResult[]).concat(results as pg.QueryResult | pg.QueryResult[]);
      const row = found.find((r) => r.fields?.some((f) => f.name === 'last_committed_event'))?.rows[0] as
        | { last_committed_event: number }
        | undefined;
      tx.committedBefore = row?.last_committed_event;
    }, () => {});
  }
  return sent;
}

/** Read right after the events lock: no other transaction can commit an event id until this one ends. */
const LAST_COMMITTED = 'SELECT coalesce(max(id), 0) AS last_committed_event FROM events';

/** A member's session over its `statement`. */
function sessionOn(
  statement: (sql: string, params?: readonly unknown[]) => Promise<pg.QueryResult>,
  unanswered: Set<Promise<unknown>>,
  wroteEvent: (event: HubEvent) => void,
  serialize: (key: string) => Promise<void>,
): Session {
  const session: Session = {
    rows: async <R>(sql: string, params?: readonly unknown[]) => (await statement(sql, params)).rows as R[],
    count: async (sql, params) => (await statement(sql, params)).rowCount ?? 0,
    async write(sql, params) {
      const answered = statement(sql, params).catch(() => {});
      unanswered.add(answered);
      void answered.then(() => unanswered.delete(answered));
    },
    atomic: (fn) => fn(session),
    async wroteEvents(event) {
      wroteEvent(event);
    },
    serialize,
  };
  return session;
}

/**
 * A statement outside the members' own (BEGIN, savepoints, COMMIT) on the batch's connection. Its failure breaks
 * the batch; an unreachable database rejects with `HubError('unavailable')`, as the members' statements do.
 */
const simple = async (conn: Connection, text: string) => {
  try {
    return await conn.client.query(text);
  } catch (error) {
    conn.broken ??= error;
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
