import pg from 'pg';
import { HubError } from '../../domain/errors.js';

/** What a table module runs its statements on: the pool (each statement alone) or one transaction's client. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** Connections the pool opens at most, by default. Each hub holds this many at most. */
export const DEFAULT_POOL_SIZE = 10;
/** How long a statement may wait for a connection from the pool before it fails as unavailable, ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Seconds a client is told to wait before retrying a request that found PostgreSQL unreachable. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

const INT8_OID = 20;
/**
 * bigint columns (times in ms, ids, counts) come back as JS numbers, as on SQLite: every value the hub stores stays
 * far below 2^53. Set on this pool's own type table, not on pg's process-wide one.
 */
export const INT8_AS_NUMBER = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary' ? (text: string) => Number(text) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export interface PoolOptions {
  /** Default {@link DEFAULT_POOL_SIZE}. */
  max?: number;
  /** Default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  connectionTimeoutMillis?: number;
  /** Told about errors of idle clients (a server restart ends them); the pool replaces them by itself. */
  onIdleError?: (error: Error) => void;
}

/**
 * A pool on `url` whose int8 values are numbers and whose sessions commit durably (`synchronous_commit = on`).
 * An idle client's error never crashes the process. `pipeline` makes its clients send each query at once instead of
 * after the previous one's answer (the group commit's writer).
 */
export function createPool(url: string, options: PoolOptions = {}, { pipeline = false } = {}): pg.Pool {
  const pool = new pg.Pool({
    pipeline,
    connectionString: url,
    max: options.max ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? DEFAULT_CONNECT_TIMEOUT_MS,
    types: INT8_AS_NUMBER,
    application_name: 'taskhub',
    // A change is answered once its COMMIT returns, so that COMMIT must wait for the WAL flush whatever the server's
    // or the database's default says: with `off`, a crash of PostgreSQL would lose changes the hub had answered.
    options: '-c synchronous_commit=on',
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}

// Errors that mean "PostgreSQL cannot be reached right now", not "this request is wrong": the network codes of a
// refused or dropped connection, and SQLSTATE classes 08 (connection exception) and 57P (operator intervention:
// admin shutdown, crash shutdown, cannot connect now), plus 53300 (too many connections).
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /Client was closed and is not queryable/i,
  /connection timeout/i,
];

/** True when `error` says the database is unreachable (so the request may succeed later), not that it is wrong. */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || code.startsWith('08') || code.startsWith('57P') || code === '53300') return true;
  }
  return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message));
}

/** Rethrows an unreachable-database error as `HubError('unavailable')` (503 + Retry-After); others unchanged. */
export function translateError(error: unknown): never {
  if (isUnavailable(error)) {
    throw new HubError('unavailable', 'The database is unreachable right now; retry shortly.', {
      retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
    });
  }
  throw error;
}
