import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Hub } from '../hub/index.js';
import type { StreamRegistry } from '../transport/sse/registry.js';

/** A waiting RPC lasts as long as its task: timing it would only measure the agents. */
const HELD_ROUTE = '/api/tasks/rpc';

/**
 * The hub's Prometheus metrics, in a registry of their own (no global state): requests by route and status,
 * open streams, tasks by status and the newest event id. Gauges are read from the hub at scrape time.
 */
export function createMetrics(hub: Hub, streams: StreamRegistry) {
  const registry = new Registry();
  const requests = new Counter({
    name: 'taskhub_http_requests_total',
    help: 'HTTP requests answered, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'taskhub_http_request_duration_seconds',
    help: 'Time to answer HTTP requests (SSE streams excluded).',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  new Gauge({
    name: 'taskhub_open_streams',
    help: 'Open SSE streams.',
    registers: [registry],
    collect() {
      this.set(streams.size());
    },
  });
  new Gauge({
    name: 'taskhub_tasks',
    help: 'Tasks by status.',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      for (const [status, n] of Object.entries(hub.stats().tasks)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'taskhub_outbox_mails',
    help: 'Mails in the email outbox, by status (queued, sent, failed).',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      for (const [status, n] of Object.entries(hub.store.outbox.counts())) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'taskhub_last_event_id',
    help: 'The newest event id issued.',
    registers: [registry],
    collect() {
      this.set(hub.store.events.lastId());
    },
  });

  /** Counts every answered request under its route pattern (never the raw path, to bound the label set). */
  const middleware: RequestHandler = (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      // An error thrown in a mounted router reaches the app's error handler with `req.baseUrl` reset to '': the
      // mount point remembered on the way in keeps `/api` in the label.
      const base = (res.locals.routeBase as string | undefined) ?? req.baseUrl;
      const route = req.route?.path ? `${base}${String(req.route.path)}` : 'unmatched';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      const held = route === HELD_ROUTE || String(res.getHeader('content-type')).startsWith('text/event-stream');
      if (res.getHeader('content-type') !== undefined && !held) {
        duration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - start) / 1e9);
      }
    });
    next();
  };

  /** Mounted with the `/api` routers: remembers their mount point for the route label. */
  const rememberBase: RequestHandler = (req, res, next) => {
    res.locals.routeBase = req.baseUrl;
    next();
  };

  return { registry, middleware, rememberBase };
}
