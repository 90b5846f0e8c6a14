import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createHub } from './hub/index.js';
import { createDeliveryPlanner } from './hub/delivery-planner.js';
import { createLogger } from './logger.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { logTaskEvents } from './hub/event-log.js';
import { createApp, DEFAULT_PUBLIC_DIR, serverOptionsFor } from './http/app.js';
import { requestTimeoutOptions, trackConnections } from './http/connections.js';
import { createRpcWaiters, type RpcWaiters } from './rpc/waiters.js';
import { createReleasers, listenError, StartError } from './releasers.js';
import { loadOrCreateSecret, writeAdminTokenOnce } from './secrets.js';
import type { Store } from './store/store.js';
import { openPostgresStore } from './store/postgres/index.js';
import { createSqliteStore } from './store/sqlite/index.js';
import { createComposer } from './transport/email/compose.js';
import { createDevMailbox } from './transport/email/dev-mailbox.js';
import { startInboundSmtp } from './transport/email/inbound.js';
import { createMailTransport, createOutboxSender } from './transport/email/outbox-sender.js';
import { createReplyAddresses } from './transport/email/reply-address.js';
import { createStreamRegistry } from './transport/sse/registry.js';
import { createWebhookPoster } from './transport/webhook/post.js';
import { createWebhookSender } from './transport/webhook/sender.js';

export interface Taskhub {
  /** Base URL of the HTTP listener, e.g. `http://127.0.0.1:8080`. */
  url: string;
  config: Config;
  hub: ReturnType<typeof createHub>;
  /** The store the hub runs on (for tests and tools; the running parts get what they need from it at start). */
  store: Store;
  /** The waiting RPCs (`size()`, `counts()`), for stats and tests. */
  rpc: RpcWaiters;
  /** An admin token signed with the hub's secret. */
  adminToken: string;
  /** Port of the embedded SMTP listener (the bound one when `TASKHUB_SMTP_PORT` is 0). */
  smtpPort: number;
  /** The Express app, for inspection (a test lists the routes it mounts). */
  app: ReturnType<typeof createApp>;
  /** Stops accepting, ends streams and waiters, closes the database. Safe to call more than once. */
  stop(): Promise<void>;
}

/** How long `stop()` lets requests in flight finish before their connections are cut (ms). */
const DRAIN_MS = 2000;
/** The version A2A cards name: the package's. */
const TASKHUB_VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Wires the hub together and starts listening. The only place that knows every part. */
export async function startTaskhub(config: Config, rootLogger: Logger = createLogger(config)): Promise<Taskhub> {
  // Every line names the hub process that wrote it: several hubs may share one database and one log store.
  const logger = rootLogger.child({ hub: config.hubId });
  const releasers = createReleasers((err) => logger.error({ err }, 'releasing part of a failed start failed'));
  try {
    return await startParts(config, logger, releasers);
  } catch (error) {
    // Whatever step failed, nothing it or an earlier step opened stays open: the process can exit.
    await releasers.releaseAll();
    throw error;
  }
}

type Releasers = ReturnType<typeof createReleasers>;

/** The start steps, each registering its releaser as soon as it has opened something. */
async function startParts(config: Config, logger: Logger, releasers: Releasers): Promise<Taskhub> {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const secret = loadOrCreateSecret(config.dataDir, config.jwtSecret);
  const core = await startCore(config, secret, logger, releasers);
  const mail = await startEmail(config, core.hub, core.store, secret, logger, core.metrics, releasers);
  startWebhooks(config, core, logger, releasers);
  const web = await startHttp(config, logger, core, mail, releasers);

  const adminToken = core.hub.tokens.signAdmin();
  const tokenFile = writeAdminTokenOnce(config.dataDir, adminToken);
  if (tokenFile) logger.info({ file: tokenFile }, `admin token written to ${tokenFile}`);
  logger.info({ url: web.url, dataDir: config.dataDir }, `taskhub listening on ${web.url}`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await web.drain();
      // SIGTERM flushes what the outbox can (bounded), and only then closes the listener it may be sending to.
      await releasers.releaseAll();
      logger.info('taskhub stopped');
    })());

  return {
    url: web.url,
    config,
    hub: core.hub,
    store: core.store,
    rpc: core.rpc,
    adminToken,
    smtpPort: mail.inbound.port,
    app: web.app,
    stop,
  };
}

/**
 * The HTTP listener over the app, with its connection accounting. `drain()` begins shutdown: new requests get
 * `503`, waiting RPCs and streams end, idle connections close, and it resolves once the listener has closed
 * (cutting what is left after `DRAIN_MS`).
 */
async function startHttp(
  config: Config,
  logger: Logger,
  { hub, store, rpc, streams, metrics }: Awaited<ReturnType<typeof startCore>>,
  mail: Awaited<ReturnType<typeof startEmail>>,
  releasers: Releasers,
) {
  let shuttingDown = false;
  // Ends the A2A facade's waits and streams when the hub stops.
  const a2aShutdown = new AbortController();
  const app = createApp({
    hub,
    streams,
    logger,
    publicDir: DEFAULT_PUBLIC_DIR,
    isShuttingDown: () => shuttingDown,
    // Any cheap read through the store: false while the database cannot be reached.
    isHealthy: () => store.events.lastId().then(() => true, () => false),
    exposure: { corsOrigins: config.corsOrigins, trustProxy: config.trustProxy, publicUrl: config.publicUrl },
    metrics,
    rpc,
    mailbox: mail.mailbox,
    a2a: {
      publicUrl: config.publicUrl,
      publicCards: config.a2aPublicCards,
      version: TASKHUB_VERSION,
      pollMs: config.rpcPollMs,
      shutdown: a2aShutdown.signal,
    },
    stats: async () => ({ ...(await hub.stats()), rpc: { waiting: rpc.size() }, hub: { id: config.hubId } }),
  });
  const server = http.createServer({ ...serverOptionsFor(app), ...requestTimeoutOptions }, app);
  const connections = trackConnections(
    server,
    { maxConnections: config.maxConnections, idleTimeoutMs: config.idleTimeoutMs },
    logger.child({ part: 'http' }),
  );
  await listen(server, config, releasers);
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  const drain = async () => {
    shuttingDown = true;
    // Waiting RPCs answer 503 shutting_down (with Connection: close) so their connections can end.
    rpc.close();
    a2aShutdown.abort();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    streams.close();
    connections.closeIdle();
    const cut = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
    await closed;
    clearTimeout(cut);
  };
  return { url, drain, app };
}

/** The store, the hub, the rpc waiters and the stream registry: everything that needs no port. */
async function startCore(config: Config, secret: string, logger: Logger, releasers: Releasers) {
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

/** Binds the HTTP listener; a port that is taken fails the start with an error naming `PORT`. */
async function listen(server: http.Server, config: Config, releasers: Releasers): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const fail = (error: unknown) => reject(listenError(error, 'PORT', config.host, config.port));
    server.once('error', fail);
    server.listen(config.port, config.host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  // After a stop's drain this finds the server closed already; on a failed start it closes it.
  releasers.add(() => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
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
  });
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/**
 * The email fallback: the planner that queues mail for agents without a stream, the embedded SMTP listener (replies,
 * and the dev mailbox when no TASKHUB_SMTP_URL is set) and the outbox sender, which starts after the listener so that
 * dev mail has somewhere to go.
 */
async function startEmail(
  config: Config,
  hub: ReturnType<typeof createHub>,
  store: Store,
  secret: string,
  logger: Logger,
  metrics: Metrics,
  releasers: Releasers,
) {
  hub.changes.addPlanner(createDeliveryPlanner({ presence: hub.presence, now: hub.now }));
  const replyAddresses = createReplyAddresses(secret, config.mailDomain);
  const mailbox = createDevMailbox(store.devMailbox, { maxBytes: config.devMailboxBytes });
  const inbound = await startInboundSmtp(
    {
      tasks: hub.tasks,
      agents: store.agents,
      replyAddresses,
      logger: logger.child({ part: 'smtp-in' }),
      touch: (agent) => hub.agents.touch(agent),
      onOutcome: metrics.mailReceived,
    },
    {
      port: config.smtpPort,
      host: config.host,
      ...(config.smtpUrl === undefined && { devMailbox: mailbox }),
      // An emailed reply to a message joins its thread, as the agent answering it over HTTP would.
      onMessageReply: (agent, messageId, reply) => hub.messages.reply({ name: agent, role: 'agent' }, messageId, reply),
    },
  ).catch((error: unknown) => {
    throw listenError(error, 'TASKHUB_SMTP_PORT', config.host, config.smtpPort);
  });
  releasers.add(() => inbound.stop());
  const loopback = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  const transport = createMailTransport(config.smtpUrl ? { url: config.smtpUrl } : { host: loopback, port: inbound.port });
  const composer = createComposer({
    from: config.mailFrom,
    domain: config.mailDomain,
    instanceId: await store.outbox.instanceId(),
    replyAddresses,
  });
  const sender = createOutboxSender(
    {
      outbox: store.outbox,
      bus: hub.bus,
      transport,
      composer,
      logger: logger.child({ part: 'smtp-out' }),
      onOutcome: metrics.mailSent,
    },
    { now: hub.now, claimMs: config.outboxClaimMs },
  );
  sender.start();
  releasers.add(() => sender.stop());
  logger.info({ smtpPort: inbound.port, outbound: config.smtpUrl ? 'TASKHUB_SMTP_URL' : 'dev mailbox' }, 'email ready');
  return { inbound, sender, mailbox };
}

/**
 * The webhook sender: POSTs the webhook channel of the outbox (the delivery planner, registered with the email
 * fallback, decides which channel each event takes).
 */
function startWebhooks(
  config: Config,
  { hub, store, metrics }: Awaited<ReturnType<typeof startCore>>,
  logger: Logger,
  releasers: Releasers,
): void {
  const { webhooks: settings } = config;
  const poster = createWebhookPoster({
    allowPrivate: settings.allowPrivate,
    timeoutMs: settings.timeoutMs,
    maxSockets: settings.concurrency,
  });
  const sender = createWebhookSender(
    {
      store,
      bus: hub.bus,
      poster,
      logger: logger.child({ part: 'webhooks' }),
      version: TASKHUB_VERSION,
      onRequeued: (listener) => hub.webhooks.onRequeued(listener),
      onOutcome: metrics.webhookDelivered,
    },
    { ...settings, now: hub.now },
  );
  sender.start();
  releasers.add(() => sender.stop());
}

/**
 * Starts a hub configured by `env` and stops it on SIGTERM or SIGINT, exiting the process. Used when this file
 * runs as a script and by `taskhub serve`.
 */
export async function runFromEnvironment(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`taskhub: ${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config);
  let taskhub: Taskhub;
  try {
    taskhub = await startTaskhub(config, logger);
  } catch (error) {
    // A port taken or a bad secret file: a sentence the operator can act on, not a stack trace.
    if (!(error instanceof StartError || error instanceof ConfigError)) throw error;
    logger.fatal({ err: error }, error.message);
    process.stderr.write(`taskhub: ${error.message}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    taskhub.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runFromEnvironment().catch((error: unknown) => {
    process.stderr.write(`taskhub: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
