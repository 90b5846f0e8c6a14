import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createHub } from './hub/index.js';
import { createMailPlanner } from './hub/mail-planner.js';
import { createLogger } from './logger.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { logTaskEvents } from './hub/event-log.js';
import { createApp, DEFAULT_PUBLIC_DIR, serverOptionsFor } from './http/app.js';
import { trackConnections } from './http/connections.js';
import { createRpcWaiters, type RpcWaiters } from './rpc/waiters.js';
import { loadOrCreateSecret, writeAdminTokenOnce } from './secrets.js';
import type { Store } from './store/store.js';
import { createSqliteStore } from './store/sqlite/index.js';
import { createComposer } from './transport/email/compose.js';
import { createDevMailbox } from './transport/email/dev-mailbox.js';
import { startInboundSmtp } from './transport/email/inbound.js';
import { createMailTransport, createOutboxSender } from './transport/email/outbox-sender.js';
import { createReplyAddresses } from './transport/email/reply-address.js';
import { createStreamRegistry } from './transport/sse/registry.js';

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
  /** Stops accepting, ends streams and waiters, closes the database. Safe to call more than once. */
  stop(): Promise<void>;
}

/** How long `stop()` lets requests in flight finish before their connections are cut (ms). */
const DRAIN_MS = 2000;
/** The version A2A cards name: the package's. */
const TASKHUB_VERSION = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Wires the hub together and starts listening. The only place that knows every part. */
export async function startTaskhub(config: Config, logger: Logger = createLogger(config)): Promise<Taskhub> {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const secret = loadOrCreateSecret(config.dataDir, config.jwtSecret);
  const store: Store = createSqliteStore(path.join(config.dataDir, 'taskhub.db'), {
    onCommitError: (err) => logger.error({ err }, 'group commit failed; its changes were rolled back'),
  });
  const hub = createHub(store, {
    secret,
    leaseSeconds: config.leaseSeconds,
    maxAttempts: config.maxAttempts,
    eventRetentionDays: config.eventRetentionDays,
    rateLimit: config.rateLimit,
    broadcastLimit: config.broadcastLimit,
    onBackgroundError: (err, what) => logger.error({ err }, `${what} failed`),
  });
  const rpc = createRpcWaiters(hub, {
    pollMs: config.rpcPollMs,
    maxWaiters: config.rpcMaxWaiters,
    onError: (err, what) => logger.error({ err }, `${what} failed`),
  });
  const streams = createStreamRegistry(
    { bus: hub.bus, presence: hub.presence, events: hub.events, logger },
    {
      maxStreamsPerSubscriber: config.maxStreams,
      heartbeatMs: config.heartbeatMs,
      maxBufferedBytes: config.streamBufferBytes,
    },
  );
  const metrics = createMetrics(hub, streams);
  const unlogTasks = logTaskEvents(hub.bus, logger);
  const mail = await startEmail(config, hub, store, secret, logger, metrics).catch(async (error: unknown) => {
    // The SMTP port may be taken: leave nothing open behind the failed start.
    unlogTasks();
    metrics.close();
    rpc.close();
    streams.close();
    await hub.stop();
    await store.close();
    throw error;
  });
  let shuttingDown = false;
  let url = '';
  // Ends the A2A facade's waits and streams when the hub stops.
  const a2aShutdown = new AbortController();
  const app = createApp({
    hub,
    streams,
    logger,
    publicDir: DEFAULT_PUBLIC_DIR,
    isShuttingDown: () => shuttingDown,
    metrics,
    rpc,
    mailbox: mail.mailbox,
    a2a: {
      publicUrl: () => config.publicUrl ?? url,
      publicCards: config.a2aPublicCards,
      version: TASKHUB_VERSION,
      pollMs: config.rpcPollMs,
      shutdown: a2aShutdown.signal,
    },
    stats: async () => ({ ...(await hub.stats()), rpc: { waiting: rpc.size() } }),
  });

  const server = http.createServer(serverOptionsFor(app), app);
  const connections = trackConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  const adminToken = hub.tokens.signAdmin();
  const tokenFile = writeAdminTokenOnce(config.dataDir, adminToken);
  if (tokenFile) logger.info({ file: tokenFile }, `admin token written to ${tokenFile}`);
  logger.info({ url, dataDir: config.dataDir }, `taskhub listening on ${url}`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
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
      // SIGTERM flushes what the outbox can (bounded), and only then closes the listener it may be sending to.
      await mail.sender.stop();
      await mail.inbound.stop();
      unlogTasks();
      metrics.close();
      await hub.stop();
      await store.close();
      logger.info('taskhub stopped');
    })());

  return { url, config, hub, store, rpc, adminToken, smtpPort: mail.inbound.port, stop };
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
) {
  hub.changes.addPlanner(createMailPlanner({ presence: hub.presence, now: hub.now }));
  const replyAddresses = createReplyAddresses(secret, config.mailDomain);
  const mailbox = createDevMailbox(store.devMailbox);
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
  );
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
    { now: hub.now },
  );
  sender.start();
  logger.info({ smtpPort: inbound.port, outbound: config.smtpUrl ? 'TASKHUB_SMTP_URL' : 'dev mailbox' }, 'email ready');
  return { inbound, sender, mailbox };
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
  const taskhub = await startTaskhub(config, logger);
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
