import { ConnectionError, HttpError, RpcTimeoutError, TaskFailedError } from './errors.js';
import type { Request } from './http.js';
import { isTerminal, type ListTasksQuery, type RpcInput, type Task, type TaskStatus } from './types.js';
import { pollTask, sleep } from './wait.js';

/** The hub's rpc answer. */
interface RpcAnswer {
  taskId: string;
  status: TaskStatus | 'timeout';
  result?: unknown;
  error?: string | null;
}

export interface RpcDeps {
  request: Request;
  getTask(id: string): Promise<Task>;
  cancelTask(id: string): Promise<Task>;
  listTasks(query: ListTasksQuery): Promise<{ tasks: Task[] }>;
}

export interface RpcSettings {
  /** Interval of the polling fallback, ms. */
  pollMs: number;
  /** Extra wait past the rpc timeout before a silent long-poll is given up as dropped, ms. */
  graceMs: number;
}

/** The contract's bounds on `timeout`, seconds. */
const MIN_TIMEOUT_S = 5;
const MAX_TIMEOUT_S = 300;
export const DEFAULT_RPC_TIMEOUT_MS = 180_000;
/** How far before the call a task may have been created by the hub's clock and still be taken for it, ms. */
const CLOCK_SKEW_MS = 60_000;
/** Tasks of the caller looked at when recovering the task of a dropped call. */
const RECOVERY_SCAN = 50;

/** Ids of tasks that an rpc of this client is already following, so that two identical calls never share one. */
export type Followed = Set<string>;

/** Turns an answer (from the long-poll or from polling) into the result, or the typed error. */
function settle(taskId: string, status: TaskStatus | 'timeout', result: unknown, error: string | null | undefined,
  timeoutMs: number, task?: Task): unknown {
  if (status === 'completed') return result;
  if (status === 'timeout') throw new RpcTimeoutError(taskId, timeoutMs);
  throw new TaskFailedError(taskId, status, error ?? null, task);
}

const samePayload = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Finds the task a dropped rpc created. The contract's rpc route takes no idempotency key, so the call is known
 * by what it asked: the caller's newest rpc task with the same text, payload, target and capability, created
 * since shortly before the call, and not followed by another call of this client.
 */
async function recoverTask(deps: RpcDeps, input: RpcInput, sentAt: number, followed: Followed): Promise<Task | undefined> {
  const { tasks } = await deps.listTasks({ role: 'assigner', limit: RECOVERY_SCAN });
  const found = tasks.find(
    (t) =>
      t.kind === 'rpc' &&
      !followed.has(t.id) &&
      Date.parse(t.createdAt) >= sentAt - CLOCK_SKEW_MS &&
      t.task === input.task &&
      (input.target === undefined || t.target === input.target) &&
      (input.capability ?? null) === t.capability &&
      samePayload(t.payload, input.payload),
  );
  // Marked in the same turn as the search, so that a twin call recovering at the same time cannot pick it too.
  if (found) followed.add(found.id);
  return found;
}

/** Lookups that find the hub answering but no task before the call is taken for one that never arrived. */
const EMPTY_LOOKUPS = 3;

/**
 * Recovers the dropped call's task. While the hub cannot be reached (restarting, say) it keeps trying until the
 * deadline; once the hub answers, a few lookups that find nothing mean the request never arrived.
 */
async function findDroppedTask(deps: RpcDeps, input: RpcInput, sentAt: number, deadline: number, settings: RpcSettings,
  followed: Followed, cause: Error): Promise<Task> {
  let empty = 0;
  for (;;) {
    try {
      const task = await recoverTask(deps, input, sentAt, followed);
      if (task) return task;
      empty += 1;
    } catch (error) {
      if (!(error instanceof ConnectionError)) throw error;
    }
    if (empty >= EMPTY_LOOKUPS) {
      throw new ConnectionError('The rpc request was lost before the hub created a task: nothing was created, so it is safe to retry.', { cause });
    }
    if (Date.now() >= deadline) {
      throw new ConnectionError('The rpc connection dropped and the hub could not be reached again before the timeout; the task may exist.', { cause });
    }
    await sleep(settings.pollMs, input.signal);
  }
}

/** Connection errors that prove nothing was sent: the hub was never reached. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function neverSent(error: unknown): boolean {
  for (let e = error as { cause?: unknown; code?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && NEVER_SENT.has(e.code)) return true;
  }
  return false;
}

/** Long-polls `POST /api/tasks/rpc`; returns (not throws) the error when the connection dropped or the hub began shutting down. */
async function longPoll(deps: RpcDeps, body: object, waitMs: number, signal?: AbortSignal): Promise<RpcAnswer | Error> {
  // A connection that goes silent without closing (a sleeping laptop) must not hold the call forever.
  const guard = new AbortController();
  const timer = setTimeout(() => guard.abort(new ConnectionError('The rpc connection stayed silent past its timeout.')), waitMs);
  const combined = signal ? AbortSignal.any([signal, guard.signal]) : guard.signal;
  try {
    return await deps.request<RpcAnswer>('POST', '/api/tasks/rpc', { body, signal: combined });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (guard.signal.aborted) return guard.signal.reason as Error;
    // A hub that was never reached created nothing: say so now rather than search for a task.
    if (error instanceof ConnectionError) {
      if (neverSent(error)) throw error;
      return error;
    }
    // Shutdown answers waiting calls with 503; the task lives on and may still be answered after a restart.
    if (error instanceof HttpError && error.code === 'shutting_down') return error;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `rpc()`: creates an rpc task and waits for its outcome. If the long-poll connection drops, the task is found
 * again and polled until it is terminal or the timeout passes; then, as the hub would have, it is cancelled
 * unless `keepOnTimeout` is set.
 */
export async function callRpc<T>(deps: RpcDeps, input: RpcInput, settings: RpcSettings, followed: Followed): Promise<T> {
  const timeoutMs = input.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  const timeoutS = Math.min(MAX_TIMEOUT_S, Math.max(MIN_TIMEOUT_S, Math.ceil(timeoutMs / 1000)));
  const body = {
    target: input.target,
    capability: input.capability,
    task: input.task,
    payload: input.payload,
    priority: input.priority,
    timeout: timeoutS,
    keepOnTimeout: input.keepOnTimeout,
  };
  const sentAt = Date.now();
  const deadline = sentAt + timeoutS * 1000;
  const answer = await longPoll(deps, body, timeoutS * 1000 + settings.graceMs, input.signal);
  if (!(answer instanceof Error)) {
    return settle(answer.taskId, answer.status, answer.result, answer.error, timeoutS * 1000) as T;
  }

  const found = await findDroppedTask(deps, input, sentAt, deadline, settings, followed, answer);
  try {
    let task = await pollTask(deps.getTask, found.id, { deadline, pollMs: settings.pollMs, signal: input.signal });
    if (!isTerminal(task.status)) {
      if (input.keepOnTimeout) throw new RpcTimeoutError(task.id, timeoutS * 1000);
      task = await cancelOrRead(deps, task.id);
      if (task.status === 'cancelled') throw new RpcTimeoutError(task.id, timeoutS * 1000);
    }
    return settle(task.id, task.status, task.result, task.error, timeoutS * 1000, task) as T;
  } finally {
    followed.delete(found.id);
  }
}

/** Cancels a task whose rpc timed out; if it turned terminal meanwhile, that outcome wins. */
async function cancelOrRead(deps: RpcDeps, id: string): Promise<Task> {
  try {
    return await deps.cancelTask(id);
  } catch (error) {
    if (error instanceof HttpError && error.code === 'invalid_transition') return deps.getTask(id);
    throw error;
  }
}
