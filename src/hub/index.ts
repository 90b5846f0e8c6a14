import { TASK_STATUSES, type TaskStatus } from '../domain/task-status.js';
import type { Store } from '../store/index.js';
import { createAgentService } from './agents.js';
import { createChangeRecorder } from './changes.js';
import { createEventBus } from './event-bus.js';
import { createMessageService, type MessageSettings } from './messages.js';
import { createPresence } from './presence.js';
import { createRateLimits } from './rate-limit.js';
import { createSweeper } from './sweeper.js';
import { createTaskEvents } from './task-events.js';
import { createTaskService, type TaskSettings } from './tasks.js';
import { createTokenService } from './tokens.js';

export interface HubOptions extends TaskSettings, MessageSettings {
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
  const presence = createPresence();
  const tokens = createTokenService(options.secret);
  const changes = createChangeRecorder(store, bus);
  const taskEvents = createTaskEvents(store, changes, now);
  const agents = createAgentService({ store, presence, tokens, bus, taskEvents, now });
  const rateLimits = createRateLimits(
    { rateLimit: options.rateLimit ?? 0, broadcastLimit: options.broadcastLimit ?? 0 },
    now,
  );
  const tasks = createTaskService({ store, presence, taskEvents, rateLimits, settings: options, now });
  const messages = createMessageService({ store, changes, rateLimits, now }, options);
  const sweeper = createSweeper(
    { store, taskEvents, bus, now },
    { maxAttempts: options.maxAttempts, onError: (error) => options.onBackgroundError?.(error, 'sweep') },
  );
  const retentionMs = options.eventRetentionDays * 24 * 3600 * 1000;

  const pruneEvents = (cutoff = now() - retentionMs) => store.events.pruneBefore(cutoff);
  // A throw in a bare timer callback is an uncaught exception (SQLITE_BUSY from a second process, say): report it
  // and try again at the next interval.
  const pruneTimer = setInterval(() => {
    try {
      pruneEvents();
    } catch (error) {
      options.onBackgroundError?.(error, 'event prune');
    }
  }, options.pruneIntervalMs ?? PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  return {
    store,
    bus,
    presence,
    tokens,
    changes,
    taskEvents,
    agents,
    tasks,
    sweeper,
    messages,
    rateLimits,
    now,
    /** Forgets replay data of events older than `cutoff` (ms; default: the retention period ago). */
    pruneEvents,

    stats() {
      const counts = store.tasks.countByStatus();
      const byStatus = Object.fromEntries(TASK_STATUSES.map((s) => [s, counts[s] ?? 0])) as Record<TaskStatus, number>;
      return {
        tasks: byStatus,
        agents: { total: store.agents.count(), connected: presence.connectedAgents() },
        events: { lastId: store.events.lastId() },
      };
    },

    stop(): void {
      sweeper.stop();
      clearInterval(pruneTimer);
    },
  };
}

export type Hub = ReturnType<typeof createHub>;
