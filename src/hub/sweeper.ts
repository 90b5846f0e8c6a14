import { TRANSITIONS } from '../domain/task-status.js';
import type { EventType, HubEvent } from '../domain/types.js';
import type { Store, TaskRecord } from '../store/store.js';
import type { Change } from './changes.js';
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
const ARMS_SWEEPER: Record<EventType, boolean> = {
  'task.assigned': true,
  'task.claimed': true,
  // A progress report only moves a lease later, never sooner than the one the timer is armed for.
  'task.progress': false,
  'task.completed': false,
  'task.failed': false,
  'task.cancelled': false,
  'task.expired': false,
  message: false,
};

/**
 * Ends leases and deadlines on time. Holds at most one timer, armed for the earliest due time in the store (a
 * lease end or a deadline) and none at all when nothing is due. Committed events that could bring a due time
 * closer re-arm it. Each expiry is a guarded transition inside one transaction with the read that found it, so a
 * task finished at the same moment is either finished or expired, never both (and of several hubs sweeping the
 * same task, one applies it and the others' guarded update changes nothing).
 */
export function createSweeper({ store, taskEvents, bus, now }: Deps, options: SweeperOptions) {
  const batchSize = options.batchSize ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let armedFor: number | undefined;
  /** The sweep or re-arm in progress; `stop()` waits for it. */
  let busy: Promise<void> | undefined;
  /** The earliest due time of events that arrived while `busy` (they are applied once it has armed). */
  let missedDue: number | undefined;
  let stopped = false;

  const nextDue = async (): Promise<number | undefined> => {
    const [lease, deadline] = await Promise.all([store.tasks.nextLeaseExpiry(), store.tasks.nextDeadline()]);
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

  const expire = (change: Change, task: TaskRecord, at: number) =>
    taskEvents.transition(change, task, TRANSITIONS.expire, { completedAt: at, leaseExpiresAt: null }, { reason: 'deadline' });

  /** The expiry that brings `attempts` to `maxAttempts` fails the task: it has been delivered that many times. */
  const endLease = (change: Change, task: TaskRecord, at: number) => {
    const attempts = task.attempts + 1;
    if (attempts >= options.maxAttempts) {
      const patch = { attempts, error: 'lease_expired', completedAt: at, leaseExpiresAt: null };
      return taskEvents.transition(change, task, TRANSITIONS.abandon, patch, { reason: 'lease_expired' });
    }
    const patch = { attempts, claimedAt: null, leaseExpiresAt: null, leaseSeconds: null };
    return taskEvents.transition(change, task, TRANSITIONS.requeue, patch, { reason: 'lease_expired' });
  };

  /** One transaction: deadlines first (a task past its deadline expires rather than being delivered again). */
  const sweepBatch = (at: number): Promise<number> =>
    taskEvents.run(async (change) => {
      const overdue = await change.tx.tasks.deadlinesDue(at, batchSize);
      for (const task of overdue) await expire(change, task, at);
      const lapsed = await change.tx.tasks.leasesDue(at, batchSize - overdue.length);
      for (const task of lapsed) await endLease(change, task, at);
      return overdue.length + lapsed.length;
    });

  /** Runs `work` as the one piece of work in progress (sweeps and re-arms never overlap). */
  const exclusive = (work: () => Promise<void>) => {
    const run = (busy ?? Promise.resolve())
      .then(work)
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        if (busy !== run) return;
        busy = undefined;
        const missed = missedDue;
        missedDue = undefined;
        if (missed !== undefined && (armedFor === undefined || missed < armedFor)) armFor(missed);
      });
    busy = run;
  };

  const sweep = async () => {
    try {
      await sweepBatch(now());
    } catch (error) {
      options.onError?.(error);
      armFor(now() + RETRY_MS);
      return;
    }
    // A full batch leaves more due: nextDue() is then in the past and the 0 ms timer yields before the next one.
    await rearmFromStore();
  };

  const rearmFromStore = async () => {
    if (stopped) return;
    try {
      armFor(await nextDue());
    } catch (error) {
      options.onError?.(error);
      armFor(now() + RETRY_MS);
    }
  };

  function fire(): void {
    timer = undefined;
    armedFor = undefined;
    if (!stopped) exclusive(sweep);
  }

  // The timer is already armed for the earliest due time in the store, so only this task's own due times can
  // bring it closer: read them from the event instead of asking the store again on every new task or claim.
  const onEvent = (event: HubEvent) => {
    if (stopped || !event.task || !ARMS_SWEEPER[event.type as EventType]) return;
    const due = earliestOf(event.task.deadline, event.task.leaseExpiresAt);
    if (due === undefined) return;
    if (busy) missedDue = Math.min(missedDue ?? due, due);
    else if (armedFor === undefined || due < armedFor) armFor(due);
  };

  const unsubscribe = bus.subscribe(onEvent);
  exclusive(rearmFromStore);

  return {
    /** The due time (ms) the timer is armed for, or `undefined` when no timer is set. */
    armedFor: (): number | undefined => armedFor,

    /** Looks at the store again, e.g. after another process changed it; resolves once re-armed. */
    async rearm(): Promise<void> {
      exclusive(rearmFromStore);
      await busy;
    },

    /** Resolves once the sweep or re-arm in progress (if any) has ended. */
    async idle(): Promise<void> {
      while (busy) await busy;
    },

    /** Clears the timer, stops listening and waits for a sweep in progress; safe to call twice. */
    async stop(): Promise<void> {
      stopped = true;
      disarm();
      unsubscribe();
      while (busy) await busy;
      disarm();
    },
  };
}

export type Sweeper = ReturnType<typeof createSweeper>;
