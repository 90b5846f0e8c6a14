import http from 'node:http';
import path from 'node:path';
import cors from 'cors';
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
import { checkJsonBody } from './json-body.js';
import { createMetrics, type Metrics } from './metrics.js';
import { logRequests } from './request-log.js';
import { agentRoutes } from './routes/agents.js';
import { eventRoutes } from './routes/events.js';
import { mailboxRoutes } from './routes/mailbox.js';
import { messageRoutes } from './routes/messages.js';
import { openApiRoute } from './openapi/route.js';
import { opsRoutes, statsRoutes } from './routes/ops.js';
import { rpcRoute } from './routes/rpc.js';
import { rpcsRoute } from './routes/rpcs.js';
import { taskReportsRoute, taskRoutes } from './routes/tasks.js';
import { webhookRoutes } from './routes/webhooks.js';
import { acceptStreamTickets, createStreamTickets } from './stream-tickets.js';

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
  /** Whether the store answers; `/healthz` is `503` while it does not. Default: always healthy. */
  isHealthy?: () => Promise<boolean>;
  /** The A2A facade's settings (`src/a2a/`). */
  a2a: Omit<A2AOptions, 'bodyLimit'>;
  /** The hub's metrics, when the caller also feeds them (mail, rpc). Default: made here, and closed by nobody. */
  metrics?: Metrics;
  /** How the hub is reached from outside; every field defaults to "directly, same origin only". */
  exposure?: Exposure;
}

/** How the hub is reached: from other origins, behind a proxy, under a public URL. */
export interface Exposure {
  /** Origins allowed by CORS (`TASKHUB_CORS_ORIGINS`); `'*'` is any; empty or absent: CORS off. */
  corsOrigins?: readonly string[] | '*';
  /** Express's `trust proxy` (`TASKHUB_TRUST_PROXY`): which proxies' `X-Forwarded-*` to believe. Default false. */
  trustProxy?: boolean | number | string;
  /** Base URL clients use (`TASKHUB_PUBLIC_URL`); default: the scheme and host of each request. */
  publicUrl?: string;
}

/** How long a browser may cache a CORS preflight answer, seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

/** CORS for the configured origins; tokens travel in `Authorization`, never in cookies, so no credentials. */
function corsFor(origins: Exposure['corsOrigins']): RequestHandler | undefined {
  if (!origins || (origins !== '*' && origins.length === 0)) return undefined;
  return cors({
    origin: origins === '*' ? '*' : [...origins],
    methods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
    exposedHeaders: ['Retry-After', 'RateLimit', 'RateLimit-Policy', 'WWW-Authenticate'],
    maxAge: CORS_MAX_AGE_SECONDS,
  });
}

export function createApp(deps: AppDeps): express.Express {
  const { hub, streams, logger } = deps;
  const app = express();
  const metrics = deps.metrics ?? createMetrics(hub, streams);
  const exposure = deps.exposure ?? {};
  const tickets = createStreamTickets();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', exposure.trustProxy ?? false);

  const refuseWhileStopping: RequestHandler = (_req, res, next) => {
    if (!deps.isShuttingDown()) return next();
    res.setHeader('Connection', 'close');
    sendError(res, new HubError('shutting_down', 'The hub is shutting down; retry against another instance or later.'));
  };

  // First, so that refusals (503, 401) carry CORS headers too and a browser page can read them.
  const allowOrigins = corsFor(exposure.corsOrigins);
  if (allowOrigins) app.use(allowOrigins);
  app.use(refuseWhileStopping);
  app.use(metrics.middleware(app));
  app.use(logRequests(logger));
  // Every body is read as JSON whatever its Content-Type, so `curl -d '{…}'` works as people expect.
  // `verify` sees the raw bytes before they are decoded and parsed: bad UTF-8, too deep, numbers out of range.
  const jsonBody = express.json({ limit: BODY_LIMIT, type: () => true, strict: false, verify: (_req, _res, body) => checkJsonBody(body) });
  // What every `/api` request goes through before its route: the body, a stream ticket (it stands in for the token
  // on the stream), the one token check.
  const apiFront = [jsonBody, acceptStreamTickets(tickets), authenticate(hub)];
  // Hot routes: the caller's and the agent's request of every rpc sit on the app itself, behind the same front, so
  // that Express reaches them without entering two nested routers and testing the task routes' patterns one by one.
  app.post('/api/tasks/rpc', ...apiFront, rpcRoute(deps.rpc, metrics.rpc));
  const logBugInBatch = (error: unknown) => logger.error({ err: error }, 'unexpected error in an rpc of POST /api/tasks/rpcs');
  app.post('/api/tasks/rpcs', ...apiFront, rpcsRoute(deps.rpc, metrics.rpc, logBugInBatch));
  app.post('/api/tasks/reports', ...apiFront, taskReportsRoute(hub));
  // Every other `/api` router, in one place. Mounted before the rest, the busiest first within it: an `/api`
  // request is then matched against no A2A, ops or OpenAPI pattern, which the router otherwise tests one by one.
  app.use(
    '/api',
    ...apiFront,
    taskRoutes(hub),
    eventRoutes(hub, streams, tickets),
    agentRoutes(hub),
    webhookRoutes(hub),
    messageRoutes(hub),
    mailboxRoutes(deps.mailbox),
    statsRoutes(deps.stats),
  );
  app.use('/api', notFoundHandler);
  // Before the JSON parser: A2A reads its own body, so that malformed JSON answers JSON-RPC -32700, not a 400.
  app.use(a2aRoutes(hub, authenticate(hub), { ...deps.a2a, bodyLimit: BODY_LIMIT }));
  app.use(jsonBody);
  app.use(opsRoutes(metrics.registry, deps.isHealthy));
  app.use(openApiRoute(exposure.publicUrl));
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
