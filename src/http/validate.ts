import type { z } from 'zod';
import { HubError } from '../domain/errors.js';

/**
 * Parses request input against a schema.
 * @throws HubError `validation_failed` whose `details` name each bad field path (`body.target`, `query.limit`).
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query'): z.output<S> {
  const result = schema.safeParse(value ?? (where === 'body' ? {} : value));
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const fields = [...new Set(details.map((d) => d.path))].join(', ');
  throw new HubError('validation_failed', `The request ${where} is not valid: check ${fields}.`, { details });
}
