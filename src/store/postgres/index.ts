import type pg from 'pg';
import type { EventFeed, Store, StoreTables } from '../store.js';
import { createAgentTable } from './agents.js';
import { createDevMailboxTable } from './dev-mailbox.js';
import { createEventTable } from './events.js';
import { createEventFeed } from './feed.js';
import { migrate } from './migrate.js';
import { createMessageTable } from './messages.js';
import { createOutboxTable } from './outbox.js';
import { createGroupCommit, MAX_BATCH_CHANGES, MAX_BATCH_MS } from './group-commit.js';
import { createPool, type PoolOptions } from './pool.js';
import { createPresenceTable } from './presence.js';
import { createRateLimitTable } from './rate-limits.js';
import { createPoolSession, type Session } from './session.js';
import { createTaskTable } from './tasks.js';
import { createTokenVersionCache, type TokenVersionCache } from './token-versions.js';
import { createWebhookTable } from './webhooks.js';

export interface PostgresStoreOptions extends PoolOptions {
  /** Told when the event feed's LISTEN connection or a read of it fails (it reconnects by itself). */
  onFeedError?: (error: unknown) => void;
  /** Apply pending migrations at open. Default true. */
  migrate?: boolean;
  /** The group commit runs a batch's changes together first (group-commit.ts); default true. */
  together?: boolean;
}

const tablesOn = (s: Session, tokens: TokenVersionCache, cacheReads = false): StoreTables => ({
  agents: createAgentTable(s, tokens, { cacheReads }),
  tasks: createTaskTable(s),
  events: createEventTable(s),
  messages: createMessageTable(s),
  outbox: createOutboxTable(s),
  webhooks: createWebhookTable(s),
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
 * Each single-statement operation on the store runs on a pooled connection of its own. `transaction` (and each
 * operation of several statements) is a change in the group commit (group-commit.ts): changes run one after
 * another on one writer connection, as savepoints of a batch that commits once for up to {@link MAX_BATCH_CHANGES}
 * of them or {@link MAX_BATCH_MS} ms. Commits are as durable as the server is configured (`synchronous_commit` on
 * by default). An unreachable database rejects with `HubError('unavailable')`.
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
  options: PoolOptions & { onFeedError?: (error: unknown) => void; together?: boolean } = {},
): PostgresStore {
  const pool = createPool(url, options);
  // The writer's own pool of one: it replaces a connection that broke, and reads never queue in front of it.
  const writer = createPool(url, { ...options, max: 1 }, { pipeline: true });
  const tokens = createTokenVersionCache();
  const feed = createEventFeed(url, options.onFeedError, tokens);
  const groupCommit = createGroupCommit(writer, {
    together: options.together ?? true,
    notifyPayload: feed.ownPayload,
    onCommitted: (events, committedBefore) => feed.committed(events, committedBefore),
    onUnknownOutcome: () => feed.poke(),
  });
  let closing: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    const forget = () => inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  };
  return {
    ...tablesOn(createPoolSession(pool, (fn) => track(groupCommit.transaction(fn)), () => closing !== undefined), tokens, true),
    pool,
    feed,
    transaction<T>(fn: (tx: StoreTables) => Promise<T>): Promise<T> {
      if (closing) return Promise.reject(new Error('store: the store is closed'));
      return track(groupCommit.transaction((session) => fn(tablesOn(session, tokens))));
    },
    close() {
      return (closing ??= (async () => {
        await Promise.allSettled([...inFlight]);
        await Promise.all([pool.end(), writer.end()]);
      })());
    },
  } satisfies PostgresStore;
}
