import type { Response } from 'express';
import type { RateLimitStatus } from '../domain/errors.js';

/**
 * Writes the `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers-11 (structured
 * field lists, one item per policy): `"sends";q=600;w=60` and `"sends";r=599;t=1`. Nothing when no policy applied.
 */
export function setRateLimitHeaders(res: Response, statuses: readonly RateLimitStatus[] | undefined): void {
  if (!statuses?.length) return;
  res.setHeader('RateLimit-Policy', statuses.map((s) => `"${s.policy}";q=${s.quota};w=${s.windowSeconds}`).join(', '));
  res.setHeader('RateLimit', statuses.map((s) => `"${s.policy}";r=${s.remaining};t=${s.resetSeconds}`).join(', '));
}
