import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { HubError, type ErrorCode } from '../domain/errors.js';
import { setRateLimitHeaders } from './rate-limit-headers.js';
import { createRefusalLog } from './request-log.js';

/** The one table from error codes to HTTP statuses. */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  invalid_transition: 409,
  conflict: 409,
  payload_too_large: 413,
  no_agent_for_capability: 422,
  capability_not_offered: 422,
  unknown_agent: 422,
  too_many_recipients: 422,
  webhook_url_refused: 422,
  rate_limited: 429,
  too_many_streams: 429,
  shutting_down: 503,
  overloaded: 503,
  unavailable: 503,
};

/** What an error that is no refusal (a bug, logged) is answered with, as `{error}` with status 500. */
export const INTERNAL_ERROR = { code: 'internal_error', message: 'Something went wrong on the hub; it has been logged.' } as const;

/** The contract's error body, `{error: {code, message, details?}}`, with the status it goes with. */
export function errorAnswer(error: HubError) {
  const { code, message, details } = error;
  return { status: STATUS_BY_CODE[code], body: { error: { code, message, ...(details && { details }) } } };
}

export function sendError(res: Response, error: HubError): void {
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  setRateLimitHeaders(res, error.rateLimits);
  if (error.code === 'unauthorized') res.setHeader('WWW-Authenticate', 'Bearer');
  const { status, body } = errorAnswer(error);
  res.status(status).json(body);
}

/** body-parser's failures, as the contract names them. */
function fromBodyParser(error: { type?: string; status?: number }): HubError | undefined {
  switch (error.type) {
    case 'entity.too.large':
      return new HubError('payload_too_large', 'The request body is larger than the 1 MiB limit.');
    case 'entity.parse.failed':
      return new HubError('invalid_json', 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HubError('invalid_json', 'The request body must be UTF-8 JSON.');
    default:
      return undefined;
  }
}

export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  const logRefusal = createRefusalLog(logger);
  return (error, req, res, _next) => {
    const known = error instanceof HubError ? error : fromBodyParser(error as { type?: string });
    if (res.headersSent) {
      logger.warn({ err: error, path: req.path }, 'error after the response started');
      res.end();
      return;
    }
    if (known) {
      logRefusal(known, (res.locals.actor as { name?: string } | undefined)?.name);
      sendError(res, known);
      return;
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'unexpected error');
    res.status(500).json({ error: INTERNAL_ERROR });
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendError(res, new HubError('not_found', `There is no route ${req.method} ${req.path}.`));
};
