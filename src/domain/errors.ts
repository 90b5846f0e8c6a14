/** The codes taskhub answers with. The HTTP layer maps each to a status; nothing else needs to know HTTP. */
export type ErrorCode =
  | 'invalid_json'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'invalid_transition'
  | 'conflict'
  | 'payload_too_large'
  | 'no_agent_for_capability'
  | 'capability_not_offered'
  | 'unknown_agent'
  | 'too_many_recipients'
  | 'rate_limited'
  | 'too_many_streams'
  | 'shutting_down'
  | 'overloaded'
  | 'unavailable';

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

export interface ErrorDetail {
  path: string;
  message: string;
}

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
