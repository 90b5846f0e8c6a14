import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { createApp } from './http/app.js';
import type { createHub } from './hub/index.js';
import { createLogger } from './logger.js';
import { createReleasers, StartError, type Releasers } from './releasers.js';
import type { RpcWaiters } from './rpc/waiters.js';
import { loadOrCreateSecret, writeAdminTokenOnce } from './secrets.js';
import { startCore } from './start/core.js';
import { startEmail } from './start/email.js';
import { startHttp } from './start/http.js';
import { startWebhooks } from './start/webhooks.js';
import type { Store } from './store/store.js';

/**
 * The hub process: wires the parts together (src/start/, one file a part) in order, each registering its releaser
 * as soon as it has opened something, and runs them from the environment when this file is the script.
 */
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

/** The start steps, each registering its releaser as soon as it has opened something. */
async function startParts(config: Config, logger: Logger, releasers: Releasers): Promise<Taskhub> {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const secret = loadOrCreateSecret(config.dataDir, config.jwtSecret);
  const core = await startCore(config, secret, logger, releasers);
  const mail = await startEmail(config, core, secret, logger, releasers);
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
