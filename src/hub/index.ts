import { randomBytes } from 'node:crypto';
import { TASK_STATUSES, type TaskStatus } from '../domain/task-status.js';
import type { HubEvent, Task } from '../domain/types.js';
import type { OutboxCounts, Store } from '../store/store.js';
import { createAgentService } from './agents.js';
import { createChangeRecorder } from './changes.js';
import { createEventBus } from './event-bus.js';
import { createMessageService, type MessageSettings } from './messages.js';
import { createPresence, type PresenceSettings } from './presence.js';
import { createRateLimits } from './rate-limit.js';
import { createSweeper } from './sweeper.js';
import { createTaskEvents } from './task-events.js';
import { createTaskService, type TaskSettings } from './tasks.js';
import { createTokenService } from './tokens.js';
import { createWebhookService, type WebhookSettings } from './webhooks/service.js';

export interface HubOptions extends TaskSettings, MessageSettings {
  /** This hub's presence: its id and heartbeat (see presence.ts). Default: a random hub id, default timings. */
  presence?: PresenceSettings;
  /** HS256 secret for tokens. */
  secret: string;
  /** Days that events stay replayable. */
  eventRetentionDays: number;
  /** Tasks + messages one sender may create per minute; 0 = off. Default 0 (`main` passes the config's 600). */
  rateLimit?: number;
  /** Broadcasts one sender may send per minute; 0 = off. Default 0 (`main` passes the config's 10). */
  broadcastLimit?: number;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** How often replay data older than the retention period is forgotten, ms. Default 3,600,000 (hourly). */
  pruneIntervalMs?: number;
  /** The webhook routes' SSRF settings. Default: private addresses refused, `dns.lookup`. */
  webhooks?: WebhookSettings;
  /** Told about failures of background work (the sweeper, the event prune). Default: ignored. */
  onBackgroundError?: (error: unknown, what: string) => void;
}

/** How often replay data older than the retention period is forgotten (ms). */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * The taskhub service: agents, tasks and the events they produce, independent of any transport. Owns the hourly
 * pruning of replay data and the lease and deadline sweeper; `stop()` ends both.
 */
export function createHub(store: Store, options: HubOptions) {
  const now = options.now ?? Date.now;
  const bus = createEventBus();
  const presence = createPresence(
    { store, now, onBackgroundError: options.onBackgroundError },
    options.presence ?? { hubId: `hub-${randomBytes(4).toString('hex')}` },
  );
  const tokens = createTokenService(options.secret);
  const changes = createChangeRecorder(store, bus);
  const taskEvents = createTaskEvents(changes, now);
  const agents = createAgentService({ store, presence, tokens, bus, taskEvents, now, onBackgroundError: options.onBackgroundError });
  const rateLimits = createRateLimits(
    { rateLimit: options.rateLimit ?? 0, broadcastLimit: options.broadcastLimit ?? 0 },
    now,
  );
  const tasks = createTaskService({ store, presence, taskEvents, rateLimits, settings: options, now });
  const messages = createMessageService({ store, changes, rateLimits, now }, options);
  const webhooks = createWebhookService({ store, now }, options.webhooks);
  const sweeper = createSweeper(
    { store, taskEvents, bus, now },
    { maxAttempts: options.maxAttempts, onError: (error) => options.onBackgroundError?.(error, 'sweep') },
  );
  // On a store several hubs share, the bus carries what the feed reads: every hub's events, once, in id order.
  const feed = store.feed;
  const following = feed
    ? store.events.lastId().then((lastId) => feed.start(lastId, (events) => events.forEach((e) => bus.publish(withTask(e)))))
    : Promise.resolve();
  const ready = Promise.all([following, presence.start()]).then(() => {});
  const retentionMs = options.eventRetentionDays * 24 * 3600 * 1000;

  const pruneEvents = (cutoff = now() - retentionMs): Promise<number> => store.events.pruneBefore(cutoff);
  /** Forgets rate-limit buckets that are full again (they say nothing a missing bucket would not). */
  const pruneRateLimits = (): Promise<number> => store.rateLimits.prune(now());
  // A rejection left alone in a timer callback would be unhandled (SQLITE_BUSY from a second process, say): report
  // it and try again at the next interval.
  const pruneTimer = setInterval(() => {
    pruneEvents().catch((error: unknown) => options.onBackgroundError?.(error, 'event prune'));
    pruneRateLimits().catch((error: unknown) => options.onBackgroundError?.(error, 'rate-limit prune'));
  }, options.pruneIntervalMs ?? PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  return {
    bus,
    presence,
    tokens,
    changes,
    taskEvents,
    agents,
    tasks,
    sweeper,
    messages,
    webhooks,
    rateLimits,
    now,
    /** Forgets replay data of events older than `cutoff` (ms; default: the retention period ago). */
    pruneEvents,
    pruneRateLimits,

    /** Committed events as streams replay them. */
    events: {
      listForAgent: (agent: string, afterId: number, limit: number) => store.events.listForAgent(agent, afterId, limit),
      listAll: (afterId: number, limit: number) => store.events.listAll(afterId, limit),
      lastId: () => store.events.lastId(),
      prunedThrough: () => store.events.prunedThrough(),
    },

    /** The figures of `/api/stats` and `/metrics` that come from the store. */
    async stats(): Promise<HubStats> {
      const [counts, total, lastId, outbox, webhookCounts, connected, live] = await Promise.all([
        store.tasks.countByStatus(),
        store.agents.count(),
        store.events.lastId(),
        store.outbox.counts('email'),
        store.outbox.counts('webhook'),
        presence.connectedAgents(),
        presence.liveHubs(),
      ]);
      const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, counts[s] ?? 0])) as Record<TaskStatus, number>;
      return {
        tasks: byStatus,
        agents: { total, connected },
        events: { lastId },
        outbox,
        webhooks: webhookCounts,
        hubs: { live },
      };
    },

    /** Resolves once the hub follows the store's feed (at once on a store of its own). */
    ready,

    /**
     * Ends the feed, the sweeper (waiting for a sweep in progress), the pruning timer and the presence heartbeat,
     * removing this hub's presence rows (streams are closed before); safe to call twice.
     */
    async stop(): Promise<void> {
      await ready.catch(() => {});
      await presence.stop();
      await feed?.stop();
      clearInterval(pruneTimer);
      await sweeper.stop();
    },
  };
}

export interface HubStats {
  tasks: Record<TaskStatus, number>;
  agents: { total: number; connected: number };
  events: { lastId: number };
  /** Mail deliveries by status. */
  outbox: OutboxCounts;
  /** Webhook deliveries by status. */
  webhooks: OutboxCounts;
  /** Hubs whose presence is live on the store (1 on SQLite). */
  hubs: { live: number };
}

export type Hub = ReturnType<typeof createHub>;

/** A task event read back from the store carries its task inside `data`; listeners expect it on the event. */
function withTask(event: HubEvent): HubEvent {
  if (event.task || !event.type.startsWith('task.')) return event;
  const { task } = JSON.parse(event.data) as { task?: Task };
  return task ? { ...event, task } : event;
}
