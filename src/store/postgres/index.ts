import type pg from 'pg';
import type { EventFeed, Store, StoreTables } from '../store.js';
import { createAgentTable } from './agents.js';
import { createDevMailboxTable } from './dev-mailbox.js';
import { createEventTable } from './events.js';
import { createEventFeed } from './feed.js';
import { migrate } from './migrate.js';
import { createMessageTable } from './messages.js';
import { createOutboxTable } from './outbox.js';
import { createPool, type PoolOptions } from './pool.js';
import { createPresenceTable } from './presence.js';
import { createRateLimitTable } from './rate-limits.js';
import { createPoolSession, inTransaction, type Session } from './session.js';
import { createTaskTable } from './tasks.js';

export interface PostgresStoreOptions extends PoolOptions {
  /** Told when the event feed's LISTEN connection or a read of it fails (it reconnects by itself). */
  onFeedError?: (error: unknown) => void;
  /** Apply pending migrations at open. Default true. */
  migrate?: boolean;
}

const tablesOn = (s: Session): StoreTables => ({
  agents: createAgentTable(s),
  tasks: createTaskTable(s),
  events: createEventTable(s),
  messages: createMessageTable(s),
  outbox: createOutboxTable(s),
  devMailbox: createDevMailboxTable(s),
  presence: createPresenceTable(s),
  rateLimits: createRateLimitTable(s),
});

export type PostgresStore = Store & {
  readonly feed: EventFeed;
  /** The pool, for the hub's own checks (health); nothing above the store runs SQL on it. */
  readonly pool: pg.Pool;
};

/**
 * The PostgreSQL store on a `pg.Pool` (`url` is `postgres://…`), migrations applied first (see migrate.ts).
 * Each table operation on the store runs on a pooled connection of its own; `transaction` holds one client for
 * BEGIN, `fn(tx)`, COMMIT (ROLLBACK when `fn` throws), then releases it. Commits are as durable as the server is
 * configured (`synchronous_commit` on by default). An unreachable database rejects with `HubError('unavailable')`.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const store = createPostgresStore(url, options);
  try {
    if (options.migrate !== false) await migrate(store.pool);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** The store on a database whose schema is already migrated (`openPostgresStore` migrates first). */
export function createPostgresStore(
  url: string,
  options: PoolOptions & { onFeedError?: (error: unknown) => void } = {},
): PostgresStore {
  const pool = createPool(url, options);
  let closing: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    const forget = () => inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  };
  return {
    ...tablesOn(createPoolSession(pool, () => closing !== undefined)),
    pool,
    feed: createEventFeed(url, pool, options.onFeedError),
    transaction<T>(fn: (tx: StoreTables) => Promise<T>): Promise<T> {
      if (closing) return Promise.reject(new Error('store: the store is closed'));
      return track(inTransaction(pool, (session) => fn(tablesOn(session))));
    },
    close() {
      return (closing ??= (async () => {
        await Promise.allSettled([...inFlight]);
        await pool.end();
      })());
    },
  } satisfies PostgresStore;
}
