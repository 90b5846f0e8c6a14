import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { HubError } from '../domain/errors.js';

/**
 * One `debug` line per request when its response ends: method, path (never the query string or headers, which may carry
 * secrets), status, time taken and who asked. Costs nothing above `debug`: the listener is not even added.
 */
export function logRequests(logger: Logger): RequestHandler {
  return (req, res, next) => {
    if (!logger.isLevelEnabled('debug')) return next();
    const start = process.hrtime.bigint();
    // `close`, not `finish`, so that a stream is logged when it ends too.
    res.once('close', () => {
      const actor = res.locals.actor as { name: string } | undefined;
      logger.debug(
        {
          method: req.method,
          path: req.originalUrl.split('?')[0],
          status: res.statusCode,
          ms: Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10,
          ...(actor && { actor: actor.name }),
        },
        'request',
      );
    });
    next();
  };
}

/** Least time between two log lines about one caller's refusals of one kind, ms. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Callers remembered by the sampler; past this the oldest are forgotten (and may log again sooner). */
const MAX_SAMPLED_KEYS = 10_000;

/**
 * Logs rate-limit and connection-limit refusals (`rate_limited`, `too_many_streams`) at `info`, sampled: the
 * first refusal of a caller logs at once, later ones of the same kind at most once per
 * REFUSAL_LOG_INTERVAL_MS, with the count of those left out since. A flood of 429s is then a few lines.
 */
export function createRefusalLog(logger: Logger, now: () => number = Date.now) {
  const last = new Map<string, { at: number; skipped: number }>();
  return (error: HubError, caller: string | undefined): void => {
    if (error.code !== 'rate_limited' && error.code !== 'too_many_streams') return;
    const key = `${error.code}:${caller ?? ''}`;
    const seen = last.get(key);
    const at = now();
    if (seen && at - seen.at < REFUSAL_LOG_INTERVAL_MS) {
      seen.skipped += 1;
      return;
    }
    last.delete(key);
    if (last.size >= MAX_SAMPLED_KEYS) last.delete(last.keys().next().value!);
    last.set(key, { at, skipped: 0 });
    const what = error.code === 'rate_limited' ? 'rate limit hit' : 'stream limit hit';
    logger.info(
      { code: error.code, caller, retryAfterSeconds: error.retryAfterSeconds, ...(seen && { skippedSinceLastLine: seen.skipped }) },
      `${what}: ${error.message}`,
    );
  };
}
