import { createHash } from 'node:crypto';
import type pg from 'pg';
import { EVENTS_CHANNEL } from './feed.js';
import { EVENTS_LOCK } from './locks.js';
import { translateError } from './pool.js';

/**
 * Where a table module runs its SQL: the pool (each operation on its own, see `atomic`) or one open transaction
 * (a change in a group-commit batch, group-commit.ts). Table modules are written once against this and bound to either.
 */
export interface Session {
  /** Runs one statement and returns its rows; an unreachable database rejects with `HubError('unavailable')`. */
  rows<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs one statement and returns how many rows it changed. */
  count(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Runs one statement whose outcome nobody reads. Inside a transaction it is only sent: the change goes on without
   * waiting for the answer (a round trip saved), and if the statement fails the change fails with its error.
   */
  write(sql: string, params?: readonly unknown[]): Promise<void>;
  /**
   * Runs `fn` atomically: inside a transaction simply on it, on the pool as a short transaction of its own (for
   * the operations that take more than one statement).
   */
  atomic<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  /** Says that events were written: other hubs are notified once, when the transaction commits. */
  wroteEvents(): Promise<void>;
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
export async function runOn(client: pg.Pool | pg.PoolClient, text: string, params: readonly unknown[] = []) {
  try {
    return await client.query({ name: nameOf(text), text, values: params as unknown[] });
  } catch (error) {
    return translateError(error);
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
 * The pool as a session: each statement alone, `atomic` as a change of its own in the group commit (`atomic`
 * runs `fn` in a transaction on the writer); refused once `closed()`.
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
    async atomic(fn) {
      check();
      return atomic(fn);
    },
    async wroteEvents() {
      await runOn(pool, NOTIFY);
    },
  };
}
