import { TRANSITIONS } from '../domain/task-status.js';
import type { HubEvent } from '../domain/types.js';
import type { Store } from '../store/index.js';
import type { TaskRecord } from '../store/tasks.js';
import type { EventBus } from './event-bus.js';
import type { TaskEvents } from './task-events.js';

export interface SweeperOptions {
  /** Deliveries before a task whose lease keeps expiring fails with `lease_expired`. */
  maxAttempts: number;
  /** Due tasks handled per transaction; the sweeper yields to the event loop between batches. Default 200. */
  batchSize?: number;
  /** Called when a sweep fails (e.g. the database stayed locked); the sweep is tried again after 1 s. */
  onError?: (error: unknown) => void;
}

interface Deps {
  store: Store;
  taskEvents: TaskEvents;
  bus: EventBus;
  now: () => number;
}

/** The earlier of two ISO times, in ms; `undefined` when both are `null`. */
function earliestOf(a: string | null, b: string | null): number | undefined {
  const times = [a, b].filter((t): t is string => t !== null).map(Date.parse);
  return times.length === 0 ? undefined : Math.min(...times);
}

/** setTimeout's largest delay (ms); a due time further away is reached in several steps. */
const MAX_DELAY_MS = 2_147_483_647;
/** Wait before trying a failed sweep again (ms). */
const RETRY_MS = 1000;
/** Events that can bring a due time closer: a new task with a deadline, a new lease. */
const ARMING_EVENTS = new Set(['task.assigned', 'task.claimed']);

/**
 * Ends leases and deadlines on time. Holds at most one timer, armed for the earliest due time in the store (a
 * lease end or a deadline) and none at all when nothing is due. Committed events that could bring a due time
 * closer re-arm it. Each expiry is a guarded transition inside one transaction with the read that found it, so a
 * task finished at the same moment is either finished or expired, never both.
 */
export function createSweeper({ store, taskEvents, bus, now }: Deps, options: SweeperOptions) {
  const batchSize = options.batchSize ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let armedFor: number | undefined;
  let sweeping = false;
  let stopped = false;

  const nextDue = (): number | undefined => {
    const lease = store.tasks.nextLeaseExpiry();
    const deadline = store.tasks.nextDeadline();
    if (lease === undefined) return deadline;
    return deadline === undefined ? lease : Math.min(lease, deadline);
  };

  const disarm = () => {
    clearTimeout(timer);
    timer = undefined;
    armedFor = undefined;
  };

  const armFor = (due: number | undefined) => {
    disarm();
    if (due === undefined || stopped) return;
    armedFor = due;
    timer = setTimeout(fire, Math.min(Math.max(0, due - now()), MAX_DELAY_MS));
  };

  const expire = (task: TaskRecord, at: number) =>
    taskEvents.transition(task, TRANSITIONS.expire, { completedAt: at, leaseExpiresAt: null }, { reason: 'deadline' });

  /** The expiry that brings `attempts` to `maxAttempts` fails the task: it has been delivered that many times. */
  const endLease = (task: TaskRecord, at: number) => {
    const attempts = task.attempts + 1;
    if (attempts >= options.maxAttempts) {
      const patch = { attempts, error: 'lease_expired', completedAt: at, leaseExpiresAt: null };
      return taskEvents.transition(task, TRANSITIONS.abandon, patch, { reason: 'lease_expired' });
    }
    const patch = { attempts, claimedAt: null, leaseExpiresAt: null, leaseSeconds: null };
    return taskEvents.transition(task, TRANSITIONS.requeue, patch, { reason: 'lease_expired' });
  };

  /** One transaction: deadlines first (a task past its deadline expires rather than being delivered again). */
  const sweepBatch = (at: number): number =>
    taskEvents.run(() => {
      const overdue = store.tasks.deadlinesDue(at, batchSize);
      for (const task of overdue) expire(task, at);
      const lapsed = store.tasks.leasesDue(at, batchSize - overdue.length);
      for (const task of lapsed) endLease(task, at);
      return overdue.length + lapsed.length;
    });

  function fire(): void {
    timer = undefined;
    armedFor = undefined;
    sweeping = true;
    try {
      sweepBatch(now());
    } catch (error) {
      options.onError?.(error);
      sweeping = false;
      armFor(now() + RETRY_MS);
      return;
    }
    sweeping = false;
    // A full batch leaves more due: nextDue() is then in the past and the 0 ms timer yields before the next one.
    armFor(nextDue());
  }

  // The timer is already armed for the earliest due time in the store, so only this task's own due times can
  // bring it closer: read them from the event instead of asking the store again on every new task or claim.
  const onEvent = (event: HubEvent) => {
    if (sweeping || stopped || !event.task || !ARMING_EVENTS.has(event.type)) return;
    const due = earliestOf(event.task.deadline, event.task.leaseExpiresAt);
    if (due !== undefined && (armedFor === undefined || due < armedFor)) armFor(due);
  };

  const unsubscribe = bus.subscribe(onEvent);
  armFor(nextDue());

  return {
    /** The due time (ms) the timer is armed for, or `undefined` when no timer is set. */
    armedFor: (): number | undefined => armedFor,

    /** Looks at the store again, e.g. after another process changed it. */
    rearm(): void {
      if (!sweeping) armFor(nextDue());
    },

    /** Clears the timer and stops listening; safe to call twice. */
    stop(): void {
      stopped = true;
      disarm();
      unsubscribe();
    },
  };
}

export type Sweeper = ReturnType<typeof createSweeper>;
