import http from 'node:http';
import path from 'node:path';
import express, { type RequestHandler } from 'express';

import type { Logger } from 'pino';
import { a2aRoutes, type A2AOptions } from '../a2a/router.js';
import { HubError } from '../domain/errors.js';
import type { Hub } from '../hub/index.js';
import type { RpcWaiters } from '../rpc/waiters.js';
import type { DevMailbox } from '../transport/email/dev-mailbox.js';
import type { StreamRegistry } from '../transport/sse/registry.js';
import { authenticate } from './auth.js';
import { createErrorHandler, notFoundHandler, sendError } from './errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { logRequests } from './request-log.js';
import { agentRoutes } from './routes/agents.js';
import { eventRoutes } from './routes/events.js';
import { mailboxRoutes } from './routes/mailbox.js';
import { messageRoutes } from './routes/messages.js';
import { opsRoutes, statsRoutes } from './routes/ops.js';
import { rpcRoutes } from './routes/rpc.js';
import { taskRoutes } from './routes/tasks.js';

/** The contract's body limit. */
export const BODY_LIMIT = '1mb';

export interface AppDeps {
  hub: Hub;
  streams: StreamRegistry;
  rpc: RpcWaiters;
  mailbox: DevMailbox;
  logger: Logger;
  /** The `/api/stats` document: the hub's figures plus those of the parts wired around it. */
  stats: () => Promise<object>;
  /** Where the dashboard's files are. */
  publicDir: string;
  /** True once shutdown has begun: new requests get `503 shutting_down`. */
  isShuttingDown: () => boolean;
  /** The A2A facade's settings (`src/a2a/`). */
  a2a: Omit<A2AOptions, 'bodyLimit'>;
  /** The hub's metrics, when the caller also feeds them (mail, rpc). Default: made here, and closed by nobody. */
  metrics?: Metrics;
}

export function createApp(deps: AppDeps): express.Express {
  const { hub, streams, logger } = deps;
  const app = express();
  const metrics = deps.metrics ?? createMetrics(hub, streams);
  app.disable('x-powered-by');
  app.set('etag', false);

  const refuseWhileStopping: RequestHandler = (_req, res, next) => {
    if (!deps.isShuttingDown()) return next();
    res.setHeader('Connection', 'close');
    sendError(res, new HubError('shutting_down', 'The hub is shutting down; retry against another instance or later.'));
  };

  app.use(refuseWhileStopping);
  app.use(metrics.middleware(app));
  app.use(logRequests(logger));
  // Before the JSON parser: A2A reads its own body, so that malformed JSON answers JSON-RPC -32700, not a 400.
  app.use(a2aRoutes(hub, authenticate(hub), { ...deps.a2a, bodyLimit: BODY_LIMIT }));
  // Every body is read as JSON whatever its Content-Type, so `curl -d '{…}'` works as people expect.
  app.use(express.json({ limit: BODY_LIMIT, type: () => true, strict: false }));
  app.use(opsRoutes(metrics.registry));
  // Every `/api` router, in one place, behind the one token check.
  app.use(
    '/api',
    authenticate(hub),
    agentRoutes(hub),
    taskRoutes(hub),
    rpcRoutes(deps.rpc, metrics.rpc),
    messageRoutes(hub),
    eventRoutes(hub, streams),
    mailboxRoutes(deps.mailbox),
    statsRoutes(deps.stats),
  );
  app.use('/api', notFoundHandler);
  app.use(
    express.static(deps.publicDir, {
      index: 'index.html',
      // Marks the request for the metrics, whose route label is otherwise 'unmatched' (no route ran).
      setHeaders: (res) => void ((res as unknown as express.Response).locals.servedStatic = true),
    }),
  );
  app.use(notFoundHandler);
  app.use(createErrorHandler(logger));
  return app;
}

export const DEFAULT_PUBLIC_DIR = path.resolve(import.meta.dirname ?? '.', '../../public');

/**
 * Options for `http.createServer(options, app)` under which requests and responses are born with the app's
 * prototypes. Express otherwise re-parents every request and response with `Object.setPrototypeOf`, which makes
 * V8 drop its fast paths for them: that alone cost about as much CPU as the rest of a simple request. Given
 * objects that already have the prototype, Express's own call changes nothing.
 */
export function serverOptionsFor(app: express.Express): http.ServerOptions {
  function AppRequest(this: http.IncomingMessage, socket: unknown) {
    (http.IncomingMessage as unknown as (this: unknown, socket: unknown) => void).call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: http.ServerResponse, req: unknown, options: unknown) {
    (http.ServerResponse as unknown as (this: unknown, req: unknown, options: unknown) => void).call(this, req, options);
  }
  AppResponse.prototype = app.response;
  return {
    IncomingMessage: AppRequest as unknown as typeof http.IncomingMessage,
    ServerResponse: AppResponse as unknown as typeof http.ServerResponse,
  };
}
