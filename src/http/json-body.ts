import { isUtf8 } from 'node:buffer';
import { HubError } from '../domain/errors.js';
import { findJsonLimitBreach, MAX_JSON_DEPTH } from '../domain/json-limits.js';

/**
 * Checks a request body before it is parsed, in one pass over its bytes: it must be UTF-8 (`400 invalid_json`,
 * rather than having bad bytes turned into U+FFFD), nest at most `MAX_JSON_DEPTH` levels and hold no number that
 * overflows a double (both `400 validation_failed`). Malformed JSON is left to `JSON.parse`, which reports it.
 * @throws HubError `invalid_json` or `validation_failed`.
 */
export function checkJsonBody(body: Buffer): void {
  if (!isUtf8(body)) throw new HubError('invalid_json', 'The request body is not valid UTF-8.');
  const breach = findJsonLimitBreach(body);
  if (breach?.kind === 'depth') {
    throw new HubError('validation_failed', `The request body is nested more than ${MAX_JSON_DEPTH} levels deep.`, {
      details: [{ path: 'body', message: `nesting deeper than ${MAX_JSON_DEPTH} levels` }],
    });
  }
  if (breach?.kind === 'number') {
    throw new HubError('validation_failed', `The number ${breach.literal.slice(0, 40)} in the request body is too large to represent.`, {
      details: [{ path: 'body', message: 'numbers must fit in an IEEE 754 double (magnitude below about 1.8e308)' }],
    });
  }
}
