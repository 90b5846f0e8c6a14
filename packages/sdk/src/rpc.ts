import { ConnectionError, HttpError, RpcTimeoutError, TaskFailedError } from './errors.js';
import type { RpcSend } from './rpc-sender.js';
import type { RpcAnswer, RpcInput } from './types.js';
import { sleep } from './wait.js';

export interface RpcDeps {
  send: RpcSend;
}

export interface RpcSettings {
  /** Pause before re-sending a call whose connection dropped, ms. */
  pollMs: number;
  /** Extra wait past the rpc timeout before a silent long-poll is given up as dropped, ms. */
  graceMs: number;
}

/** The contract's bounds on `timeout`, seconds. */
const MIN_TIMEOUT_S = 5;
const MAX_TIMEOUT_S = 300;
export const DEFAULT_RPC_TIMEOUT_MS = 180_000;

/** Turns an answer into the result, or the typed error. */
function settle(answer: RpcAnswer, timeoutMs: number): unknown {
  if (answer.status === 'completed') return answer.result;
  if (answer.status === 'timeout') throw new RpcTimeoutError(answer.taskId, timeoutMs);
  throw new TaskFailedError(answer.taskId, answer.status, answer.error ?? null);
}

/** Connection errors that prove nothing was sent: the hub was never reached. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function neverSent(error: unknown): boolean {
  for (let e = error as { cause?: unknown; code?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && NEVER_SENT.has(e.code)) return true;
  }
  return false;
}

/**
 * Long-polls `POST /api/tasks/rpc`, or waits for the call's line of `POST /api/tasks/rpcs` (rpc-sender.ts); returns
 * (not throws) the error when the connection dropped, the hub could not be reached on a re-send (it may be
 * restarting) or it began shutting down: all cases where re-sending may help.
 */
async function longPoll(deps: RpcDeps, body: object, waitMs: number, firstSend: boolean,
  signal?: AbortSignal): Promise<RpcAnswer | Error> {
  // A connection that goes silent without closing (a sleeping laptop) must not hold the call forever.
  const guard = new AbortController();
  const timer = setTimeout(() => guard.abort(new ConnectionError('The rpc connection stayed silent past its timeout.')), waitMs);
  const combined = signal ? AbortSignal.any([signal, guard.signal]) : guard.signal;
  try {
    return await deps.send(body, combined);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (guard.signal.aborted) return guard.signal.reason as Error;
    // A hub never reached on the first send created nothing: say so at once rather than keep trying.
    if (error instanceof ConnectionError) {
      if (firstSend && neverSent(error)) throw error;
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
 * `rpc()`: creates an rpc task and waits for its outcome. Every call carries an idempotency key (the caller's, or
 * a fresh one), so when the long-poll connection drops, the hub restarts or it answers `503 shutting_down`, the
 * call is simply sent again with the time that is left: the hub finds the same task instead of creating another,
 * and answers when it is terminal (at once if it already is) or cancels it at the original deadline.
 */
export async function callRpc<T>(deps: RpcDeps, input: RpcInput, settings: RpcSettings): Promise<T> {
  const timeoutMs = input.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  const timeoutS = clampSeconds(timeoutMs / 1000);
  const idempotencyKey = input.idempotencyKey ?? globalThis.crypto.randomUUID();
  const deadline = Date.now() + timeoutS * 1000;
  for (let send = 0; ; send++) {
    const leftS = send === 0 ? timeoutS : clampSeconds((deadline - Date.now()) / 1000);
    const body = {
      target: input.target,
      capability: input.capability,
      task: input.task,
      payload: input.payload,
      priority: input.priority,
      timeout: leftS,
      keepOnTimeout: input.keepOnTimeout,
      idempotencyKey,
    };
    const answer = await longPoll(deps, body, leftS * 1000 + settings.graceMs, send === 0, input.signal);
    if (!(answer instanceof Error)) return settle(answer, timeoutS * 1000) as T;
    if (Date.now() >= deadline) {
      throw new ConnectionError(
        `The rpc could not be answered before its timeout: the connection dropped and the hub could not be reached ` +
          `again. The task may exist; re-send the call with idempotencyKey "${idempotencyKey}" to get its outcome ` +
          'without creating it twice.',
        { cause: answer },
      );
    }
    await sleep(settings.pollMs, input.signal);
  }
}

/** The contract's clamp of an rpc timeout to [5, 300] seconds, rounded up to whole seconds. */
function clampSeconds(seconds: number): number {
  return Math.min(MAX_TIMEOUT_S, Math.max(MIN_TIMEOUT_S, Math.ceil(seconds)));
}
