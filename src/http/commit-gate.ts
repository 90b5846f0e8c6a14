import type { RequestHandler, Response } from 'express';
import type { Store } from '../store/index.js';

/**
 * Holds back the end of every response while batched changes wait for their group commit, so that nothing is
 * acknowledged (and nothing read from an uncommitted change is shown) before it is durable. If the commit fails,
 * a response not sent yet becomes a `500`.
 */
export function holdUntilCommitted(store: Pick<Store, 'pending' | 'afterCommit'>): RequestHandler {
  return (_req, res, next) => {
    const end = res.end;
    res.end = function (this: Response, ...args: unknown[]) {
      if (!store.pending()) return end.apply(this, args as Parameters<typeof end>);
      store.afterCommit((committed) => {
        if (committed || this.headersSent) end.apply(this, args as Parameters<typeof end>);
        else failUnsent(this, end);
      });
      return this;
    } as typeof res.end;
    next();
  };
}

function failUnsent(res: Response, end: Response['end']): void {
  const body = JSON.stringify({
    error: { code: 'internal_error', message: 'The change could not be saved; nothing was changed. Retry shortly.' },
  });
  res.statusCode = 500;
  res.removeHeader('Content-Length');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  (end as (chunk: string) => Response).call(res, body);
}

/**
 * Runs the synchronous part of each request (after its body has been read) with group commit on: the changes
 * the routes make join the turn's batch instead of committing one by one.
 */
export function batchChanges(store: Pick<Store, 'batched'>): RequestHandler {
  return (_req, _res, next) => store.batched(() => next());
}
