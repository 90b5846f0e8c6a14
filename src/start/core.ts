import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { logTaskEvents } from '../hub/event-log.js';
import { createHub } from '../hub/index.js';
import { createMetrics } from '../http/metrics.js';
import type { Releasers } from '../releasers.js';
import { createRpcWaiters } from '../rpc/waiters.js';
import { openPostgresStore } from '../store/postgres/index.js';
import { createSqliteStore } from '../store/sqlite/index.js';
import type { Store } from '../store/store.js';
import { createStreamRegistry } from '../transport/sse/registry.js';

/** The store, the hub, the rpc waiters and the stream registry: everything that needs no port. */
export async function startCore(config: Config, secret: string, logger: Logger, releasers: Releasers) {
  const store: Store = await openStore(config, logger);
  releasers.add(() => store.close());
  const hub = createHub(store, {
    secret,
    leaseSeconds: config.leaseSeconds,
    maxAttempts: config.maxAttempts,
    eventRetentionDays: config.eventRetentionDays,
    rateLimit: config.rateLimit,
    broadcastLimit: config.broadcastLimit,
    progressLimit: config.progressLimit,
    webhooks: { allowPrivate: config.webhooks.allowPrivate },
    presence: { hubId: config.hubId, heartbeatMs: config.presenceHeartbeatMs, expiryMs: config.presenceExpiryMs },
    onBackgroundError: (err, what) => logger.error({ err }, `${what} failed`),
  });
  releasers.add(() => hub.stop());
  await hub.ready;
  const rpc = createRpcWaiters(hub, {
    pollMs: config.rpcPollMs,
    maxWaiters: config.rpcMaxWaiters,
    onError: (err, what) => logger.error({ err }, `${what} failed`),
  });
  releasers.add(() => rpc.close());
  const streams = createStreamRegistry(
    { bus: hub.bus, presence: hub.presence, events: hub.events, logger },
    {
      maxStreamsPerSubscriber: config.maxStreams,
      heartbeatMs: config.heartbeatMs,
      maxBufferedBytes: config.streamBufferBytes,
    },
  );
  releasers.add(() => streams.close());
  const metrics = createMetrics(hub, streams);
  releasers.add(() => metrics.close());
  const unlogTasks = logTaskEvents(hub.bus, logger);
  releasers.add(() => unlogTasks());
  return { store, hub, rpc, streams, metrics };
}

/** PostgreSQL when `TASKHUB_DATABASE_URL` is set (migrated at open), else SQLite in the data dir. */
async function openStore(config: Config, logger: Logger): Promise<Store> {
  if (config.databaseUrl) {
    const store = await openPostgresStore(config.databaseUrl, {
      onIdleError: (err) => logger.warn({ err }, 'an idle PostgreSQL connection failed; the pool opens another'),
      onFeedError: (err) => logger.warn({ err }, 'the event feed failed; it reconnects and catches up'),
    });
    logger.info({ database: redactUrl(config.databaseUrl) }, 'store: PostgreSQL');
    return store;
  }
  return createSqliteStore(path.join(config.dataDir, 'taskhub.db'), {
    onCommitError: (err) => logger.error({ err }, 'group commit failed; its changes were rolled back'),
    onCheckpointerFailure: (err) =>
      logger.error({ err }, 'the SQLite checkpointer thread failed; the writer checkpoints the WAL itself from now on'),
  });
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export type Core = Awaited<ReturnType<typeof startCore>>;
