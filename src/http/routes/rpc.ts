import { Router } from 'express';
import { HubError } from '../../domain/errors.js';
import type { RpcWaiters } from '../../rpc/waiters.js';
import { actorOf } from '../auth.js';
import { rpcBody } from '../schemas.js';
import { parse } from '../validate.js';

/**
 * `POST /api/tasks/rpc`: holds the request open until the task is terminal or the timeout passes. Node's server
 * timeouts do not cut it: `requestTimeout` and `headersTimeout` only bound receiving the request, and the
 * socket idle `timeout` is 0 (off) unless someone sets it.
 */
export function rpcRoutes(rpc: RpcWaiters): Router {
  const router = Router();

  router.post('/tasks/rpc', async (req, res) => {
    const { timeout, keepOnTimeout, ...input } = parse(rpcBody, req.body, 'body');
    const callerGone = new AbortController();
    // `res` (not `req`) closes when the connection drops before the answer; after the answer it is a no-op.
    res.on('close', () => callerGone.abort());
    if (res.destroyed) callerGone.abort();
    try {
      const answer = await rpc.call(actorOf(res), input, {
        timeoutSeconds: timeout,
        keepOnTimeout,
        signal: callerGone.signal,
      });
      if (answer) res.json(answer);
    } catch (error) {
      if (error instanceof HubError && error.code === 'shutting_down') res.setHeader('Connection', 'close');
      throw error;
    }
  });

  return router;
}
