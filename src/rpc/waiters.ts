import { randomUUID } from 'node:crypto';
import { HubError } from '../domain/errors.js';
import { isTerminal } from '../domain/task-status.js';
import type { Actor, EventType, HubEvent, Task } from '../domain/types.js';
import type { Hub } from '../hub/index.js';
import type { TaskInput } from '../hub/tasks.js';
import { clampTimeoutSeconds } from './timeout.js';

export type RpcStatus = 'completed' | 'failed' | 'cancelled' | 'expired' | 'timeout';

/** The answer of `POST /api/tasks/rpc`: `result` when completed, `error` when the task carries one. */
export interface RpcAnswer {
  taskId: string;
  status: RpcStatus;
  result?: unknown;
  error?: string;
}

export interface RpcCallOptions {
  /** Seconds to wait, clamped to [5, 300]. Default 180. */
  timeoutSeconds?: number;
  /** On timeout leave the task open instead of cancelling it. Default false. */
  keepOnTimeout?: boolean;
  /** Aborted when the caller goes away: the waiter is freed at once and the call resolves `undefined`. */
  signal?: CallerSignal;
}

/**
 * What a call needs of its caller's leaving. An `AbortSignal` is one; the HTTP route passes a lighter one of its
 * own, because an `AbortController` per call (an `EventTarget`, its listeners and symbols) showed in profiles.
 */
export interface CallerSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface RpcSettings {
  /** Interval of the store poll that catches tasks finished by another process, ms. */
  pollMs: number;
  /** Waiters held at once; one more is refused with `overloaded` before anything is created. */
  maxWaiters: number;
  /** Told about a failed poll or a failed cancel on timeout. Default: ignored. */
  onError?: (error: unknown, what: string) => void;
}

type Finished = Pick<Task, 'id' | 'status' | 'result' | 'error'>;

interface Waiter {
  taskId: string;
  actor: Actor;
  keepOnTimeout: boolean;
  timer: NodeJS.Timeout;
  signal: CallerSignal | undefined;
  onAbort: () => void;
  /** Its timeout fired (it may fire while the task is still being created). */
  timedOut?: boolean;
  resolve: (answer: RpcAnswer | undefined) => void;
  reject: (error: HubError) => void;
}

/** The events that end a task, and with it the rpc waiting for it. */
const ENDS_TASK: Record<EventType, boolean> = {
  'task.assigned': false,
  'task.claimed': false,
  'task.progress': false,
  'task.completed': true,
  'task.failed': true,
  'task.cancelled': true,
  'task.expired': true,
  message: false,
};

function answerOf(task: Finished): RpcAnswer {
  const answer: RpcAnswer = { taskId: task.id, status: task.status as RpcStatus };
  if (task.status === 'completed') answer.result = task.result;
  if (task.error !== null) answer.error = task.error;
  return answer;
}

/**
 * The RPCs waiting for their task, keyed by task id. A waiter is registered under the id its task will have before
 * the task is created, so it hears the bus from before the task exists: no completion can slip past it. (A call
 * whose idempotency key finds an earlier task registers for that one and then reads it, as bullmq's
 * `waitUntilFinished` does.) It is resolved by the first of: that read finding the task terminal, the task's
 * terminal event on the hub's bus, the store poll (which sees tasks finished by another process on the
 * same database), its timeout, its caller leaving, or `close()`. Each of these removes it from the map together
 * with its timer and abort listener. The single poll timer runs only while the map is not empty.
 */
export function createRpcWaiters(hub: Pick<Hub, 'tasks' | 'bus'>, settings: RpcSettings) {
  // Usually one waiter per task; more when a caller re-sends a call (same idempotency key) after losing its
  // connection while the first request is still held.
  const waiters = new Map<string, Set<Waiter>>();
  let waiting = 0;
  let pollTimer: NodeJS.Timeout | undefined;
  let timers = 0;
  let closed = false;

  const remove = (waiter: Waiter): boolean => {
    const set = waiters.get(waiter.taskId);
    if (!set?.delete(waiter)) return false;
    if (set.size === 0) waiters.delete(waiter.taskId);
    waiting -= 1;
    clearTimeout(waiter.timer);
    timers -= 1;
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (waiting === 0 && pollTimer) {
      clearInterval(pollTimer);
      pollTimer = undefined;
    }
    return true;
  };

  /** Answers every waiter of a task that turned terminal. */
  const finish = (task: Finished) => {
    for (const waiter of [...(waiters.get(task.id) ?? [])]) if (remove(waiter)) waiter.resolve(answerOf(task));
  };

  let polling = false;
  const poll = async () => {
    // A poll slower than the interval is not run twice at once.
    if (polling) return;
    polling = true;
    try {
      for (const task of await hub.tasks.terminalAmong([...waiters.keys()])) finish(task);
    } catch (error) {
      settings.onError?.(error, 'rpc poll');
    } finally {
      polling = false;
    }
  };

  /** Cancels the task as its caller unless kept; if it turned terminal meanwhile, that is the answer. */
  const timeOut = async (waiter: Waiter) => {
    if (!remove(waiter)) return;
    waiter.timedOut = true;
    const timeout: RpcAnswer = { taskId: waiter.taskId, status: 'timeout' };
    if (waiter.keepOnTimeout) return waiter.resolve(timeout);
    try {
      await hub.tasks.cancel(waiter.actor, waiter.taskId);
      waiter.resolve(timeout);
    } catch (error) {
      if (error instanceof HubError && error.code === 'invalid_transition') {
        // Finished meanwhile: that is the answer.
        const task = await hub.tasks.get(waiter.actor, waiter.taskId).catch(() => undefined);
        if (task) return waiter.resolve(answerOf(task));
      }
      settings.onError?.(error, 'rpc cancel on timeout');
      waiter.resolve(timeout);
    }
  };

  const onEvent = (event: HubEvent) => {
    if (!ENDS_TASK[event.type as EventType] || event.taskId === null) return;
    if (event.task && waiters.has(event.taskId)) finish(event.task);
  };
  const unsubscribe = hub.bus.subscribe(onEvent);

  /** Adds a waiter for `taskId`: its answer, and the waiter itself (to take it out again). */
  const register = (actor: Actor, taskId: string, options: RpcCallOptions) => {
    let waiter!: Waiter;
    const answer = new Promise<RpcAnswer | undefined>((resolve, reject) => {
      waiter = {
        taskId,
        actor,
        keepOnTimeout: options.keepOnTimeout ?? false,
        timer: setTimeout(() => void timeOut(waiter), clampTimeoutSeconds(options.timeoutSeconds) * 1000),
        signal: options.signal,
        onAbort: () => {
          if (remove(waiter)) resolve(undefined);
        },
        resolve,
        reject,
      };
      timers += 1;
      waiting += 1;
      const set = waiters.get(taskId);
      if (set) set.add(waiter);
      else waiters.set(taskId, new Set([waiter]));
      waiter.signal?.addEventListener('abort', waiter.onAbort, { once: true });
      pollTimer ??= setInterval(() => void poll(), settings.pollMs);
    });
    // The call awaits its task's creation (or a read) before it hands this answer on, and `close()` may reject it
    // meanwhile: marked handled here, or the process would hear an unhandled rejection (Node exits on one). The
    // caller still gets the rejection from the promise returned.
    answer.catch(() => {});
    return { answer, waiter };
  };

  return {
    /**
     * Creates a task of kind `rpc` and waits until it is terminal or the timeout passes.
     * @returns the answer, or `undefined` when the caller went away first (the task is left as it is).
     * @throws HubError `overloaded` at the waiter limit and `shutting_down` after `close()` (nothing is created),
     *   any error of `tasks.create`, and `shutting_down` for waiters still waiting when `close()` is called.
     */
    async call(actor: Actor, input: TaskInput, options: RpcCallOptions = {}): Promise<RpcAnswer | undefined> {
      if (closed) throw new HubError('shutting_down', 'The hub is shutting down; retry later.');
      if (options.signal?.aborted) return undefined;
      if (waiting >= settings.maxWaiters) {
        throw new HubError('overloaded', `The hub is already holding ${waiting} waiting RPCs; retry shortly.`, {
          retryAfterSeconds: 1,
        });
      }
      // The waiter exists before its task does (the id is chosen here): whatever finishes the task, however soon
      // (a listener of its own `task.assigned`, another hub, another process), the waiter hears it or the poll
      // finds it, and no read after the creation is needed. It counts toward the limit from here.
      const id = randomUUID();
      const first = register(actor, id, options);
      let outcome: { task: Task; created: boolean };
      try {
        outcome = await hub.tasks.create(actor, input, 'rpc', id);
      } catch (error) {
        remove(first.waiter);
        throw error;
      }
      if (outcome.created) {
        // Timed out while the task was being created (a database slower than the timeout): the cancel found no
        // task then, so cancel it now, as a timeout does.
        if (first.waiter.timedOut && !first.waiter.keepOnTimeout) {
          await hub.tasks.cancel(actor, id).catch((error: unknown) => settings.onError?.(error, 'rpc cancel on timeout'));
        }
        return first.answer;
      }
      // A repeated idempotency key found the call's first task instead of creating another: a caller that lost its
      // connection re-sends the call and waits for the same task (or gets its outcome at once).
      remove(first.waiter);
      const { task } = outcome;
      if (isTerminal(task.status)) return answerOf(task);
      if (closed) throw new HubError('shutting_down', 'The hub is shutting down; the task stays recorded as it was.');
      if (options.signal?.aborted) return undefined;
      // Subscribe first, then read: a completion between the creation's answer and now is seen by the read.
      const { answer } = register(actor, task.id, options);
      const stored = await hub.tasks.get(actor, task.id).catch((error: unknown) => {
        settings.onError?.(error, 'rpc read after register');
        return undefined;
      });
      if (stored && isTerminal(stored.status)) finish(stored);
      return answer;
    },

    /** RPCs waiting now. */
    size: (): number => waiting,

    /** What the waiters hold: entries, timeout timers and whether the poll timer runs (all zero when idle). */
    counts: () => ({ waiters: waiting, timers, polling: pollTimer !== undefined }),

    /** Answers every waiter with `shutting_down`, stops the poll and refuses new calls. Safe to call twice. */
    close(): void {
      if (closed) return;
      closed = true;
      unsubscribe();
      const error = new HubError('shutting_down', 'The hub is shutting down; the task stays recorded as it was.');
      for (const set of [...waiters.values()]) for (const waiter of [...set]) if (remove(waiter)) waiter.reject(error);
    },
  };
}

export type RpcWaiters = ReturnType<typeof createRpcWaiters>;
