import type { ErrorDetail, ErrorCode as WireErrorCode } from '@taskhub/sdk/wire';

/**
 * The codes a HubError carries (the wire's codes but `internal_error`, which only the HTTP layer's catch-all
 * answers). The HTTP layer maps each to a status; nothing else needs to know HTTP.
 */
export type ErrorCode = Exclude<WireErrorCode, 'internal_error'>;

/**
 * Where a sender stands under one rate-limit policy, in the terms of the IETF RateLimit header fields draft:
 * `quota` units per `windowSeconds`, `remaining` of them now, and `resetSeconds` within which no more than
 * `remaining` may be used.
 */
export interface RateLimitStatus {
  policy: string;
  quota: number;
  windowSeconds: number;
  remaining: number;
  resetSeconds: number;
}

export type { ErrorDetail } from '@taskhub/sdk/wire';

/** The one error class of taskhub: a stable `code`, a message a person can act on, optional field details. */
export class HubError extends Error {
  readonly code: ErrorCode;
  readonly details?: ErrorDetail[];
  /** Seconds after which a retry may succeed (rate and stream limits). */
  readonly retryAfterSeconds?: number;
  /** The rate-limit policies that applied to a `rate_limited` request. */
  readonly rateLimits?: RateLimitStatus[];

  constructor(
    code: ErrorCode,
    message: string,
    extra: { details?: ErrorDetail[]; retryAfterSeconds?: number; rateLimits?: RateLimitStatus[] } = {},
  ) {
    super(message);
    this.name = 'HubError';
    this.code = code;
    if (extra.details) this.details = extra.details;
    if (extra.retryAfterSeconds !== undefined) this.retryAfterSeconds = extra.retryAfterSeconds;
    if (extra.rateLimits) this.rateLimits = extra.rateLimits;
  }
}

export function notFound(what: string): HubError {
  return new HubError('not_found', `${what} was not found.`);
}
