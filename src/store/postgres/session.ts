import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { HubEvent } from '../../domain/types.js';
import { EVENTS_CHANNEL } from './channels.js';
import { EVENTS_LOCK } from './locks.js';
import { translateError } from './pool.js';

/**
 * Where a table module runs its SQL: the pool (each operation on its own, see `atomic`) or one open transaction
 * (a change in a group-commit batch, group-commit.ts). Table modules are written once against this and bound to
 * either.
 */
export interface Session {
  /** Runs one statement and returns its rows; an unreachable database rejects with `HubError('unavailable')`. */
  rows<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs one statement and returns how many rows it changed. */
  count(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Runs one statement whose outcome nobody reads. Inside a group-commit change it is only sent: the change goes
   * on without waiting for the answer (a round trip saved), and if the statement fails the change fails with it.
   */
  write(sql: string, params?: readonly unknown[]): Promise<void>;
  /**
   * Runs `fn` atomically: inside a transaction simply on it; on the pool as a change of its own in the group commit
   * (for the operations that take more than one statement), or, with `eventsLock: false`, as a short transaction
   * of its own beside the group commit.
   */
  atomic<T>(fn: (session: Session) => Promise<T>, options?: AtomicOptions): Promise<T>;
  /**
   * Says that `event` was written: other hubs are notified once, when the transaction commits (and in the group
   * commit, this hub's feed is handed the event).
   */
  wroteEvents(event: HubEvent): Promise<void>;
  /**
   * Keeps `key` to this transaction until it ends, waiting while another change of the same group-commit batch
   * keeps it. A row lock (FOR UPDATE, an upsert) separates transactions; the changes of one batch share one, so a
   * read-modify-write of a row that two changes may do at once takes the row's key first. Elsewhere a no-op.
   */
  serialize(key: string): Promise<void>;
}

export interface AtomicOptions {
  /**
   * Whether a transaction of its own takes the events lock before its first write (see createClientSession).
   * Default true: it is then a change in the group commit. Only work that writes no event and locks nothing an
   * event-writing transaction waits for may pass false (presence): it then runs on the pool, neither waiting for
   * nor holding back the writers of events (nor queueing behind their batches).
   */
  eventsLock?: boolean;
}

// Statements are prepared once per connection under a name derived from their text: the parse and plan are saved on
// every later call, and one text always maps to one name.
const names = new Map<string, string>();
const nameOf = (text: string) => {
  let name = names.get(text);
  if (!name) names.set(text, (name = `t${createHash('sha1').update(text).digest('base64url').slice(0, 16)}`));
  return name;
};

/** Runs one statement as a named prepared statement; an unreachable database rejects with `HubError('unavailable')`. */
export async function runOn(client: pg.Pool | pg.ClientBase, text: string, params: readonly unknown[] = []) {
  try {
    return await client.query({ name: nameOf(text), text, values: params as unknown[] });
  } catch (error) {
    return translateError(error);
  }
}

/**
 * Runs `fn` in BEGIN … COMMIT on a pooled client; ROLLBACK when it throws; a broken client is not reused. Only for
 * `atomic(fn, { eventsLock: false })`: every other transaction is a change in the group commit.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (session: Session) => Promise<T>,
  options: AtomicOptions = {},
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    return translateError(error);
  }
  const session = createClientSession(client, options.eventsLock ?? true);
  let broken: Error | undefined;
  // A checked-out client has no pool listener: a connection that drops between two statements (server restart,
  // pg_terminate_backend) would otherwise be an unhandled 'error' event. The next statement fails on its own.
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    const result = await fn(session.session);
    session.close();
    // NOTIFY is transactional: delivered at COMMIT, dropped with a ROLLBACK.
    if (session.notify()) await runOn(client, NOTIFY);
    if (session.begun()) await runOn(client, 'COMMIT');
    return result;
  } catch (error) {
    session.close();
    if (session.begun()) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
    }
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

export const NOTIFY = `SELECT pg_notify('${EVENTS_CHANNEL}', '')`;
export const LOCK_EVENTS = `SELECT pg_advisory_xact_lock(${EVENTS_LOCK})`;

// Statements that write or lock rows. Checked by text once per statement text.
const WRITES = /^\s*(INSERT|UPDATE|DELETE|WITH|MERGE)\b|\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE)\b/i;
const writes = new Map<string, boolean>();
/** True when `sql` writes or locks rows: a transaction takes the events lock before its first such statement. */
export const isWrite = (sql: string) => {
  let write = writes.get(sql);
  if (write === undefined) writes.set(sql, (write = WRITES.test(sql)));
  return write;
};

/**
 * A transaction's session. BEGIN goes out with its first statement, and before its first write it takes the events
 * lock (see locks.ts), which it would take anyway at its first event: a transaction that waits for that lock then
 * holds no row lock, so no cycle can form between the lock and rows (without this, a sweeper expiring tasks A and B
 * in one transaction and an agent completing B would deadlock: the sweeper holding the lock and waiting for row B,
 * the agent holding row B and waiting for the lock). Reads before the first write run in parallel with other
 * transactions. When the first statement writes, BEGIN and the lock go in one round trip.
 */
function createClientSession(client: pg.PoolClient, eventsLock: boolean): {
  session: Session;
  close(): void;
  begun(): boolean;
  notify(): boolean;
} {
  let open = true;
  let notify = false;
  let begun: Promise<unknown> | undefined;
  let locked: Promise<unknown> | undefined;
  const simple = async (text: string) => {
    try {
      return await client.query(text);
    } catch (error) {
      return translateError(error);
    }
  };
  const prepare = (sql: string): Promise<unknown> => {
    if (!open) throw new Error('store: this transaction is over; use the tx only inside its fn');
    if (!eventsLock || !isWrite(sql)) return (begun ??= simple('BEGIN'));
    if (!locked) locked = begun ? begun.then(() => simple(LOCK_EVENTS)) : (begun = simple(`BEGIN; ${LOCK_EVENTS}`));
    return locked;
  };
  const session: Session = {
    async rows<R>(sql: string, params?: readonly unknown[]) {
      await prepare(sql);
      return (await runOn(client, sql, params)).rows as R[];
    },
    async count(sql, params) {
      await prepare(sql);
      return (await runOn(client, sql, params)).rowCount ?? 0;
    },
    async write(sql, params) {
      await prepare(sql);
      await runOn(client, sql, params);
    },
    atomic: (fn) => fn(session),
    async wroteEvents() {
      notify = true;
    },
    serialize: async () => {},
  };
  return {
    session,
    close() {
      open = false;
    },
    begun: () => begun !== undefined,
    notify: () => notify,
  };
}

/**
 * The pool as a session: each statement alone; `atomic` a change of its own in the group commit (`atomic`), or a
 * transaction of its own on the pool with `eventsLock: false`; refused once `closed()`.
 */
export function createPoolSession(
  pool: pg.Pool,
  atomic: <T>(fn: (session: Session) => Promise<T>) => Promise<T>,
  closed: () => boolean,
): Session {
  const check = () => {
    if (closed()) throw new Error('store: the store is closed');
  };
  return {
    async rows<R>(sql: string, params?: readonly unknown[]) {
      check();
      return (await runOn(pool, sql, params)).rows as R[];
    },
    async count(sql, params) {
      check();
      return (await runOn(pool, sql, params)).rowCount ?? 0;
    },
    async write(sql, params) {
      check();
      await runOn(pool, sql, params);
    },
    async atomic(fn, options) {
      check();
      return options?.eventsLock === false ? inTransaction(pool, fn, options) : atomic(fn);
    },
    async wroteEvents() {
      await runOn(pool, NOTIFY);
    },
    serialize: async () => {},
  };
}
