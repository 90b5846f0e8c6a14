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
  | 'rate_limited'
  | 'too_many_streams'
  | 'shutting_down'
  | 'overloaded';

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

  constructor(code: ErrorCode, message: string, extra: { details?: ErrorDetail[]; retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = 'HubError';
    this.code = code;
    if (extra.details) this.details = extra.details;
    if (extra.retryAfterSeconds !== undefined) this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

export function notFound(what: string): HubError {
  return new HubError('not_found', `${what} was not found.`);
}
