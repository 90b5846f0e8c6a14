import type express from 'express';
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HubEvent } from '../domain/types.js';
import type { Hub } from '../hub/index.js';
import type { StreamRegistry } from '../transport/sse/registry.js';
import { createRouteLabeler } from './route-labels.js';

/** A waiting RPC lasts as long as its task: it is timed by `taskhub_rpc_duration_seconds`, not here. */
const HELD_ROUTES = new Set(['/api/tasks/rpc', '/api/tasks/rpcs']);

/** Buckets of the rpc histogram, seconds: from an agent answering at once to the 300 s timeout. */
const RPC_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** The task events that end a task, by the outcome label they count under. */
const FINISHED: Record<string, string> = {
  'task.completed': 'completed',
  'task.failed': 'failed',
  'task.cancelled': 'cancelled',
  'task.expired': 'expired',
};

/**
 * The hub's Prometheus metrics, in a registry of their own (no global state): the process and Node.js metrics
 * (`collectDefaultMetrics`, prefixed `taskhub_`), requests by route and status, rpc outcomes and durations,
 * tasks created and finished, events by type, mails and webhook deliveries by outcome, and gauges read from the hub at scrape time.
 * Task and event counters come from the committed events on the hub's bus; `close()` unsubscribes.
 */
export function createMetrics(hub: Hub, streams: StreamRegistry) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'taskhub_' });
  const { requests, duration } = requestCounters(registry);
  const { rpcs, rpcDuration, created, finished, events, mailsSent, mailsReceived, webhookDeliveries } = workCounters(registry);
  registerGauges(registry, hub, streams);

  const onEvent = (event: HubEvent) => {
    events.inc({ type: event.type });
    const task = event.task;
    if (!task) return;
    // A task's first event is its assignment with no attempt yet; a redelivery has attempts ≥ 1.
    if (event.type === 'task.assigned' && task.attempts === 0 && task.createdAt === task.updatedAt) created.inc();
    const outcome = FINISHED[event.type];
    if (outcome) finished.inc({ outcome });
  };
  const unsubscribe = hub.bus.subscribe(onEvent);

  return {
    registry,
    /** Counts every request under its route pattern when its response ends (SSE streams included). */
    middleware: (app: express.Express): RequestHandler => {
      const routeOf = createRouteLabeler(app);
      return (req, res, next) => {
        const start = process.hrtime.bigint();
        // `close`, not `finish`: a stream ends when its client goes, and never finishes.
        res.once('close', () => {
          const route = routeOf(req, res);
          requests.inc({ method: req.method, route, status: String(res.statusCode) });
          const held = HELD_ROUTES.has(route) || String(res.getHeader('content-type')).startsWith('text/event-stream');
          if (res.writableFinished && res.getHeader('content-type') !== undefined && !held) {
            duration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - start) / 1e9);
          }
        });
        next();
      };
    },
    /** Records one rpc's outcome and how long it took, seconds. */
    rpc(outcome: string, seconds: number): void {
      rpcs.inc({ outcome });
      rpcDuration.observe({ outcome }, seconds);
    },
    mailSent: (outcome: 'sent' | 'retried' | 'failed') => mailsSent.inc({ outcome }),
    mailReceived: (outcome: 'reply' | 'kept' | 'refused') => mailsReceived.inc({ outcome }),
    webhookDelivered: (outcome: 'sent' | 'retried' | 'failed' | 'gone') => webhookDeliveries.inc({ outcome }),
    /** Stops counting the bus's events. Safe to call twice. */
    close: (): void => void unsubscribe(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Requests by route and status, and how long they took. */
function requestCounters(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'taskhub_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'taskhub_http_request_duration_seconds',
      help: 'Time to answer HTTP requests (SSE streams and waiting RPCs excluded).',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
  };
}

/** The work the hub does: rpc outcomes and durations, tasks, events, mails. */
function workCounters(registry: Registry) {
  const registers = [registry];
  const byOutcome = (name: string, help: string) => new Counter({ name, help, labelNames: ['outcome'] as const, registers });
  return {
    rpcs: byOutcome(
      'taskhub_rpc_total',
      'RPCs answered, by outcome: completed, failed, cancelled, expired, timeout, caller_gone, or the error code.',
    ),
    rpcDuration: new Histogram({
      name: 'taskhub_rpc_duration_seconds',
      help: 'Time from an RPC call to its answer, by outcome.',
      labelNames: ['outcome'] as const,
      buckets: RPC_BUCKETS,
      registers,
    }),
    created: new Counter({ name: 'taskhub_tasks_created_total', help: 'Tasks created (rpc included).', registers }),
    finished: byOutcome(
      'taskhub_tasks_finished_total',
      'Tasks that reached a terminal status, by outcome (completed, failed, cancelled, expired).',
    ),
    events: new Counter({ name: 'taskhub_events_total', help: 'Events emitted, by type.', labelNames: ['type'] as const, registers }),
    mailsSent: byOutcome(
      'taskhub_mails_sent_total',
      'Outbound mail sends, by outcome: sent, retried (failed, to be tried again), failed (for good).',
    ),
    mailsReceived: byOutcome(
      'taskhub_mails_received_total',
      'Mail to the embedded SMTP listener, by outcome: reply (taken), kept (dev mailbox), refused.',
    ),
    webhookDeliveries: byOutcome(
      'taskhub_webhook_deliveries_total',
      'Webhook delivery attempts, by outcome: sent (2xx), retried (failed, to be tried again), failed (for good), gone (410: the webhook was removed).',
    ),
  };
}

/** The gauges read from the hub at scrape time. */
function registerGauges(registry: Registry, hub: Hub, streams: StreamRegistry): void {
  const registers = [registry];
  new Gauge({
    name: 'taskhub_open_streams',
    help: 'Open SSE streams.',
    registers,
    collect() {
      this.set(streams.size());
    },
  });
  new Gauge({
    name: 'taskhub_tasks',
    help: 'Tasks by status.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      for (const [status, n] of Object.entries((await hub.stats()).tasks)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'taskhub_outbox_mails',
    help: 'Mails in the email outbox, by status (queued, sent, failed).',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      for (const [status, n] of Object.entries((await hub.stats()).outbox)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'taskhub_webhook_deliveries',
    help: 'Webhook deliveries in the outbox, by status (queued, sent, failed).',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      for (const [status, n] of Object.entries((await hub.stats()).webhooks)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'taskhub_last_event_id',
    help: 'The newest event id issued.',
    registers,
    async collect() {
      this.set(await hub.events.lastId());
    },
  });
}
