import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createApp, DEFAULT_PUBLIC_DIR, serverOptionsFor } from '../http/app.js';
import { requestTimeoutOptions, trackConnections } from '../http/connections.js';
import { listenError, type Releasers } from '../releasers.js';
import { TASKHUB_VERSION } from '../version.js';
import type { Core } from './core.js';
import type { Email } from './email.js';

/** How long `stop()` lets requests in flight finish before their connections are cut (ms). */
const DRAIN_MS = 2000;

/**
 * The HTTP listener over the app, with its connection accounting. `drain()` begins shutdown: new requests get
 * `503`, waiting RPCs and streams end, idle connections close, and it resolves once the listener has closed
 * (cutting what is left after `DRAIN_MS`).
 */
export async function startHttp(config: Config, logger: Logger, core: Core, mail: Email, releasers: Releasers) {
  const { hub, store, rpc, streams, metrics } = core;
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
