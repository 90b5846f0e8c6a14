import { a2aForwarder, type A2AForwardOptions } from './a2a.js';
import { HttpError, TaskhubError } from './errors.js';
import { isRefusal, stderrReporter, type ErrorInfo } from './report.js';
import { createTaskReporter, type ReportingClient } from './reporter.js';
import type { SubscribeOptions, Subscription } from './subscribe.js';
import type { HubEvent, Task } from './types.js';

export interface WorkerContext {
  /** The task as it was delivered. */
  task: Task;
  /** Aborted when the task is cancelled (or the worker stops with `abort`). */
  signal: AbortSignal;
  /** Reports progress (moves the task to `in_progress`) and renews its lease. */
  progress(report: string | { message?: string; progress?: number }): Promise<void>;
}

/** Runs one task: the resolved value becomes the result; a throw fails the task (`retry: true` on the error retries it). */
export type TaskHandler = (payload: any, ctx: WorkerContext) => unknown;

export interface WorkerOptions {
  /** A handler per capability. A task without a capability goes to the handler named like its text, if any. */
  capabilities: Record<string, TaskHandler>;
  /** Runs tasks that no capability handler takes. Default: such tasks are failed with `no handler for …`. */
  fallback?: TaskHandler;
  /** Tasks run at once; the rest wait in the hub's queue until a slot frees. Default 1. */
  concurrency?: number;
  /** Lease asked for on each claim, seconds. Default: the hub's (300). */
  leaseSeconds?: number;
  /**
   * Errors of the worker. `fatal` means the hub refused the worker for good: its token (401: invalid, revoked,
   * or naming an agent that does not exist) or its role (403: an admin token cannot take tasks). The worker
   * then takes no more tasks, `ready` rejects if it had not resolved, and it should be stopped. Anything else
   * (the hub down, a dropped stream, a call that failed) is retried, the stream with backoff (`retryInMs` says
   * when). Default: one line on stderr per error (`taskhub worker: … (retrying in 1.0 s)`).
   */
  onError?: (error: Error, info: ErrorInfo) => void;
  /**
   * Serve tasks by forwarding each to a remote A2A agent (see `a2aForwarder`): those of `capabilities` (default:
   * every task no handler in `capabilities` takes, before `fallback`).
   */
  a2a?: A2AForwardOptions & { capabilities?: string[] };
  /** Reconnect backoff of the event stream. */
  stream?: Pick<SubscribeOptions, 'minDelayMs' | 'maxDelayMs'>;
}

export interface Worker {
  /**
   * Resolves once the stream is open and the tasks pending for the agent have been read (and started, up to
   * `concurrency`). Rejects with the hub's `HttpError` when it refuses the worker for good (see `onError`).
   * While the hub cannot be reached it stays pending, and the worker keeps retrying. Resolves on `stop()`.
   */
  readonly ready: Promise<void>;
  /** Tasks running now. */
  readonly running: number;
  /**
   * Stops taking tasks and closes the stream, then waits for running tasks to finish and be reported. With
   * `abort`, their signals are aborted and those that end by it are handed back (`fail` with `retry`).
   * Safe to call twice.
   */
  stop(options?: { abort?: boolean }): Promise<void>;
}

/** Pending tasks fetched per drain; a full page means more wait, so the next free slot drains again. */
const PENDING_PAGE = 100;

/** What the worker needs from the client. */
export interface WorkerClient extends ReportingClient {
  subscribe(handler: (event: HubEvent) => void, options: SubscribeOptions): Subscription;
  pendingTasks(query: { limit?: number }): Promise<Task[]>;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

/** A task the status no longer allows to act on (cancelled, taken by another process): nothing to do. */
const isGone = (error: unknown) =>
  error instanceof HttpError && (error.code === 'invalid_transition' || error.code === 'not_found');

export function createWorker(client: WorkerClient, options: WorkerOptions): Worker {
  const concurrency = options.concurrency ?? 1;
  // Claims and reports of tasks running side by side go out together while a request is in flight (reporter.ts).
  const { report: send } = createTaskReporter(client);
  const progressOf = (update: string | { message?: string; progress?: number }) => (typeof update === 'string' ? { message: update } : update);
  const running = new Map<string, Running>();
  const onError = options.onError ?? stderrReporter('taskhub worker');
  const report = (error: unknown, info: ErrorInfo = { fatal: false }) =>
    onError(error instanceof Error ? error : new Error(String(error)), info);
  let markReady!: () => void;
  let failReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  // A caller that never awaits `ready` still hears of a refusal through `onError`.
  ready.catch(() => undefined);
  let refused = false;
  let me: string | undefined;
  let stopping: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  let drainAgain = false;
  // Set when a task was left in the queue for want of a slot: the next free slot drains again.
  let backlog = false;

  const forward = options.a2a && a2aForwarder(options.a2a);
  const forwards = (name: string) => options.a2a?.capabilities === undefined || options.a2a.capabilities.includes(name);
  const handlerFor = (task: Task): TaskHandler | undefined => {
    const name = task.capability ?? task.task;
    return options.capabilities[name] ?? (forward && forwards(name) ? forward : undefined) ?? options.fallback;
  };

  const execute = async (task: Task, controller: AbortController): Promise<void> => {
    const handler = handlerFor(task);
    if (!handler) {
      const known = Object.keys(options.capabilities).join(', ') || 'none';
      await send({ op: 'fail', taskId: task.id, error: `no handler for capability "${task.capability ?? task.task}" (this worker has: ${known})` });
      return;
    }
    await send({ op: 'claim', taskId: task.id, ...(options.leaseSeconds !== undefined && { leaseSeconds: options.leaseSeconds }) });
    const ctx: WorkerContext = {
      task,
      signal: controller.signal,
      progress: async (update) => void (await send({ op: 'progress', taskId: task.id, ...progressOf(update) })),
    };
    let result: unknown;
    try {
      result = await handler(task.payload, ctx);
    } catch (error) {
      if (controller.signal.aborted) return handBack(task, controller);
      const retry = (error as { retry?: unknown } | null)?.retry === true;
      await send({ op: 'fail', taskId: task.id, error: error instanceof Error ? error.message : String(error), retry });
      return;
    }
    if (controller.signal.aborted) return handBack(task, controller);
    await send({ op: 'complete', taskId: task.id, result });
  };

  /** A task cancelled by its assigner needs nothing more; one aborted by `stop` goes back to the queue. */
  const handBack = async (task: Task, controller: AbortController) => {
    if (controller.signal.reason === STOPPED) await send({ op: 'fail', taskId: task.id, error: 'worker stopped', retry: true });
  };

  const start = (task: Task) => {
    const controller = new AbortController();
    const done = execute(task, controller)
      .catch((error: unknown) => {
        if (!isGone(error)) report(error);
      })
      .finally(() => {
        running.delete(task.id);
        if (backlog && !stopping) {
          backlog = false;
          drain();
        }
      });
    running.set(task.id, { controller, done });
  };

  const offer = (task: Task) => {
    if (stopping || running.has(task.id) || task.status !== 'assigned') return;
    if (me !== undefined && task.target !== me) return;
    if (running.size >= concurrency) {
      backlog = true;
      return;
    }
    start(task);
  };

  /** Offers every pending task; a drain asked for while one runs runs once more after it. */
  const drain = (): void => {
    if (draining) {
      drainAgain = true;
      return;
    }
    draining = (async () => {
      do {
        drainAgain = false;
        try {
          const pending = await client.pendingTasks({ limit: PENDING_PAGE });
          if (pending.length === PENDING_PAGE) backlog = true;
          for (const task of pending) offer(task);
          markReady();
        } catch (error) {
          // The stream may be open to an admin token, which cannot take tasks: nothing will ever run.
          if (isRefusal(error)) refuse(error);
          else report(error);
        }
      } while (drainAgain && !stopping);
    })().finally(() => {
      draining = undefined;
    });
  };

  const onEvent = (event: HubEvent) => {
    if (event.type === 'task.assigned' && event.task) offer(event.task);
    else if (event.type === 'task.cancelled' && event.taskId) running.get(event.taskId)?.controller.abort(cancelled(event.taskId));
    else if (event.type === 'reset') drain();
  };

  /** The hub refused the worker for good: no more tasks, `ready` rejects, the caller is told once. */
  const refuse = (error: HttpError) => {
    if (refused) return;
    refused = true;
    subscription.close();
    report(error, { fatal: true });
    failReady(error);
  };

  const subscription = client.subscribe(onEvent, {
    ...options.stream,
    onOpen: (info) => {
      me = info.agent;
      drain();
    },
    onError: (error, info) => {
      if (info.fatal && error instanceof HttpError) refuse(error);
      else report(error, info);
    },
  });

  return {
    ready,
    get running() {
      return running.size;
    },
    stop(stopOptions = {}) {
      return (stopping ??= (async () => {
        subscription.close();
        markReady();
        if (stopOptions.abort) for (const { controller } of running.values()) controller.abort(STOPPED);
        await draining;
        await Promise.all([...running.values()].map((r) => r.done));
      })());
    },
  };
}

/** The abort reason of a worker stopping with `abort`. */
const STOPPED = new TaskhubError('The worker is stopping.');

const cancelled = (taskId: string) => new TaskhubError(`Task ${taskId} was cancelled.`);
