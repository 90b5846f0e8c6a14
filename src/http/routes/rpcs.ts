import type { RpcLine } from '@taskhub/sdk/wire';
import type { RequestHandler } from 'express';
import { HubError } from '../../domain/errors.js';
import type { RpcAnswer, RpcWaiters } from '../../rpc/waiters.js';
import { actorOf } from '../auth.js';
import { errorAnswer, INTERNAL_ERROR } from '../errors.js';
import { rpcsBody } from '../schemas.js';
import { parse } from '../validate.js';
import { callerLeaving, timedFromNow, type RpcObserver } from './rpc.js';

/** Told of an error that is no refusal (a bug), which its line answers as `internal_error`. */
export type BugReporter = (error: unknown) => void;

/**
 * `POST /api/tasks/rpcs`: several rpcs of one caller in one request (docs/http.md, "Several rpcs in one request").
 * Each call's line is written as that call ends, with what `POST /api/tasks/rpc` would have answered for it, and the
 * answer ends with the last. A caller that goes away frees every waiter of the request and leaves the tasks as they
 * are, as the single route does.
 */
export function rpcsRoute(rpc: RpcWaiters, onAnswered: RpcObserver | undefined, onBug: BugReporter): RequestHandler {
  return async (req, res) => {
    const answered = timedFromNow(onAnswered);
    const { calls } = parse(rpcsBody, req.body, 'body');
    const actor = actorOf(res);
    const signal = callerLeaving(res);

    const refusal = (index: number, error: unknown): RpcLine => {
      if (!(error instanceof HubError)) {
        onBug(error);
        answered('internal_error');
        return { index, status: 500, error: INTERNAL_ERROR };
      }
      answered(error.code);
      const { status, body } = errorAnswer(error);
      return { index, status, ...body };
    };
    const ending = (index: number, answer: RpcAnswer | undefined): RpcLine | undefined => {
      answered(answer?.status ?? 'caller_gone');
      return answer && { index, status: 200, answer };
    };

    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    // Each line as it is written, through proxies too (nginx holds a response back unless told).
    res.setHeader('X-Accel-Buffering', 'no');
    // At once: the caller learns that the batch was taken even while every call of it still waits.
    res.flushHeaders();
    // Lines of calls ending in the same turn leave in one socket write: Node corks a response's writes until the
    // next tick.
    const write = (line: RpcLine | undefined) => {
      if (line && !res.destroyed) res.write(`${JSON.stringify(line)}\n`);
    };
    await Promise.all(
      calls.map(({ timeout, keepOnTimeout, ...input }, index) =>
        rpc
          .call(actor, input, { timeoutSeconds: timeout, keepOnTimeout, signal })
          .then((answer) => ending(index, answer), (error: unknown) => refusal(index, error))
          .then(write),
      ),
    );
    res.end();
  };
}
