/**
 * better-sqlite3 is synchronous: each SQLite table module implements the synchronous twin of its `Store` table
 * (`Sync<TaskTable>`), and the store makes it asynchronous in two ways, inside a transaction and on its own.
 */

/** The synchronous twin of an asynchronous table interface: the same methods, returning plain values. */
export type Sync<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : never;
};

/** A synchronous table and which of its operations write (the rest only read). */
export interface SyncTable<T> {
  ops: Sync<T>;
  writes: readonly (keyof T)[];
}

/** Runs a synchronous call as a settled promise: its value, or its exception as the rejection. */
export function settle<R>(call: () => R): Promise<R> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

type AnyFn = (...args: unknown[]) => unknown;

/** Where a transaction's tables keep whether it still runs (an own property of each per-transaction table). */
export interface TxState {
  live: boolean;
}

const STATE = Symbol('transaction state');
const over = () => Promise.reject(new Error('store: this transaction is over; use the tx only inside its fn'));

/**
 * The prototype of a table as transactions see it: each operation runs at once on the connection (inside the
 * transaction's savepoint), or rejects when its transaction has ended. `bindTx` makes the per-transaction object,
 * one small allocation instead of a closure per operation.
 */
export function txPrototype<T>(ops: Sync<T>): T {
  const proto: Record<string, AnyFn> = {};
  for (const name of Object.keys(ops)) {
    const op = (ops as Record<string, AnyFn>)[name]!;
    proto[name] = function (this: { [STATE]: TxState }, ...args: unknown[]) {
      return this[STATE].live ? settle(() => op(...args)) : over();
    };
  }
  return proto as unknown as T;
}

/** A transaction's view of one table: `proto`'s operations, valid while `state.live`. */
export function bindTx<T>(proto: T, state: TxState): T {
  const table = Object.create(proto as object) as T & { [STATE]: TxState };
  table[STATE] = state;
  return table;
}

/**
 * The asynchronous table whose every operation goes through `via(name, call, args)`, `call` being
 * `ops[name](...args)`; `via` decides where it runs (in a transaction of its own, on another connection).
 */
export function promisify<T>(
  ops: Sync<T>,
  via: (name: keyof T, call: () => unknown, args: unknown[]) => Promise<unknown>,
): T {
  const table: Record<string, AnyFn> = {};
  for (const name of Object.keys(ops) as (keyof T & string)[]) {
    const op = ops[name] as unknown as AnyFn;
    table[name] = (...args: unknown[]) => via(name, () => op(...args), args);
  }
  return table as unknown as T;
}
