/**
 * Checking a webhook delivery on the receiving side: `import { verifyWebhook } from '@taskhub/sdk/webhooks'`.
 * The hub signs every POST the Standard Webhooks way, so this is that scheme and nothing of taskhub's own; any
 * Standard Webhooks library verifies the same requests. This module imports only `node:crypto`, so a receiver
 * (a serverless function) loads nothing else of the SDK.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { TaskhubError } from './errors.js';
import type { HubEvent } from './wire.js';

/** How far a delivery's `webhook-timestamp` may be from the receiver's clock, either way: 300 s (5 minutes). */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

const SECRET_PREFIX = 'whsec_';
const SIGNATURE_VERSION = 'v1';
const HMAC_BYTES = 32;

/** Why a delivery was refused. */
export type WebhookFailure =
  /** `webhook-id`, `webhook-timestamp` or `webhook-signature` is absent or empty. */
  | 'missing_headers'
  /** `webhook-timestamp` is not a whole number of Unix seconds. */
  | 'invalid_timestamp'
  /** No `v1,` signature in `webhook-signature` matches: another secret, or the body or a header was changed. */
  | 'invalid_signature'
  /** Signed, but longer ago than the tolerance: a replay, or a receiver's clock running fast. */
  | 'timestamp_too_old'
  /** Signed with a time further ahead than the tolerance: a receiver's clock running slow. */
  | 'timestamp_too_new'
  /** Signed, but the body is not JSON. */
  | 'invalid_body';

/** A delivery `verifyWebhook` refused; `reason` says why. Answer it with a 4xx and do not act on it. */
export class WebhookVerificationError extends TaskhubError {
  readonly reason: WebhookFailure;

  constructor(reason: WebhookFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * A request's headers: a `Headers` (fetch, Web `Request`), or a plain object in any letter case (Node's
 * `req.headers`, Express, AWS Lambda's `event.headers`).
 */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** The allowed distance between `webhook-timestamp` and now, seconds. Default `WEBHOOK_TOLERANCE_SECONDS` (300). */
  toleranceSeconds?: number;
  /** The receiver's clock, ms since the epoch. Default `Date.now()`. */
  nowMs?: number;
}

/**
 * Checks one delivery and returns its event. `secret` is the `whsec_…` the hub answered `PUT …/webhook` with;
 * `body` is the request body exactly as received (the raw string or bytes: JSON parsed and serialised again
 * no longer matches the signature). Accepts any one of several space-separated signatures (the scheme lets a
 * sender sign with more than one key), compares in constant time, and refuses a timestamp more than
 * `toleranceSeconds` from now. Throws `WebhookVerificationError` with the reason; throws `TypeError` for a
 * secret that is not `whsec_` + base64 (a setup mistake, not a bad request).
 */
export function verifyWebhook<E = HubEvent>(
  secret: string,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options: VerifyWebhookOptions = {},
): E {
  const key = decodeSecret(secret);
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError('missing_headers', 'The request lacks webhook-id, webhook-timestamp or webhook-signature.');
  }
  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError('invalid_timestamp', `webhook-timestamp is not Unix seconds: ${JSON.stringify(timestamp.slice(0, 40))}.`);
  }
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(bytes).digest();
  if (!signatures.split(' ').some((candidate) => matches(candidate, expected))) {
    throw new WebhookVerificationError('invalid_signature', 'No signature matches: another secret, or the request was changed.');
  }
  // Checked after the signature so that a timestamp error is about a delivery the hub really signed.
  checkTimestamp(Number(timestamp), options);
  try {
    return JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body)) as E;
  } catch {
    throw new WebhookVerificationError('invalid_body', 'The signed body is not JSON.');
  }
}

function decodeSecret(secret: string): Buffer {
  const encoded = typeof secret === 'string' && secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (typeof encoded !== 'string' || encoded.length === 0 || encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new TypeError('verifyWebhook needs the webhook secret as the hub gave it: whsec_ followed by base64.');
  }
  return Buffer.from(encoded, 'base64');
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name)?.trim() || undefined;
  const plain = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(plain).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : plain[key];
  // Node joins repeated headers into an array only for a few names; join them as one list if it ever does.
  return (Array.isArray(value) ? value.join(' ') : value)?.trim() || undefined;
}

/** One `v1,<base64>` entry against the expected MAC, in constant time; other versions are skipped, as the scheme says. */
function matches(candidate: string, expected: Buffer): boolean {
  const comma = candidate.indexOf(',');
  if (comma < 0 || candidate.slice(0, comma) !== SIGNATURE_VERSION) return false;
  const given = Buffer.from(candidate.slice(comma + 1), 'base64');
  // The length is public (every v1 MAC is 32 bytes), so refusing another length early leaks nothing.
  return given.length === HMAC_BYTES && timingSafeEqual(given, expected);
}

function checkTimestamp(seconds: number, options: VerifyWebhookOptions): void {
  const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (now - seconds > tolerance) {
    throw new WebhookVerificationError('timestamp_too_old', `Signed ${now - seconds} s ago, more than the ${tolerance} s allowed.`);
  }
  if (seconds - now > tolerance) {
    throw new WebhookVerificationError('timestamp_too_new', `Signed ${seconds - now} s ahead of this clock, more than the ${tolerance} s allowed.`);
  }
}
