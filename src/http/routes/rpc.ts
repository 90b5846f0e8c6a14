import type { RequestHandler, Response } from 'express';
import { HubError } from '../../domain/errors.js';
import type { CallerSignal, RpcWaiters } from '../../rpc/waiters.js';
import { actorOf } from '../auth.js';
import { rpcBody } from '../schemas.js';
import { parse } from '../validate.js';

/** Told each rpc's outcome (the answer's status, `caller_gone`, or the error code) and its duration, seconds. */
export type RpcObserver = (outcome: string, seconds: number) => void;

/**
 * `POST /api/tasks/rpc`: holds the request open until the task is terminal or the timeout passes. Node's server
 * timeouts do not cut it: `requestTimeout` and `headersTimeout` only bound receiving the request, and the
 * socket idle `timeout` is 0 (off) unless someone sets it. The app mounts it in front of the `/api` routers
 * (app.ts, "hot routes").
 */
export function rpcRoute(rpc: RpcWaiters, onAnswered?: RpcObserver): RequestHandler {
  return async (req, res) => {
    const answered = timedFromNow(onAnswered);
    const { timeout, keepOnTimeout, ...input } = parse(rpcBody, req.body, 'body');
    try {
      const answer = await rpc.call(actorOf(res), input, {
        timeoutSeconds: timeout,
        keepOnTimeout,
        signal: callerLeaving(res),
      });
      answered(answer?.status ?? 'caller_gone');
      if (answer) res.json(answer);
    } catch (error) {
      answered(error instanceof HubError ? error.code : 'internal_error');
      if (error instanceof HubError && error.code === 'shutting_down') res.setHeader('Connection', 'close');
      throw error;
    }
  };
}

/** Tells `onAnswered` an outcome with the seconds since this call (the request's arrival). */
export function timedFromNow(onAnswered: RpcObserver | undefined): (outcome: string) => void {
  const started = process.hrtime.bigint();
  return (outcome) => onAnswered?.(outcome, Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * Aborted when the caller's connection drops before the answer. `res` (not `req`) tells: it closes then, and also
 * after every answer, which is not a caller leaving.
 */
export function callerLeaving(res: Response): CallerSignal {
  const listeners = new Set<() => void>();
  const signal = {
    aborted: res.destroyed,
    addEventListener: (_type: 'abort', listener: () => void) => void listeners.add(listener),
    removeEventListener: (_type: 'abort', listener: () => void) => void listeners.delete(listener),
  };
  res.on('close', () => {
    if (res.writableFinished || signal.aborted) return;
    signal.aborted = true;
    for (const listener of [...listeners]) listener();
    listeners.clear();
  });
  return signal;
}
