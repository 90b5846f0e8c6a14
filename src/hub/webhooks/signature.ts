import { createHmac, randomBytes } from 'node:crypto';

/** Prefix of a webhook secret, as Standard Webhooks writes it. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** Random bytes in a webhook secret (base64-encoded after the prefix). 32 bytes = 256 bits, the HMAC's key size. */
export const WEBHOOK_SECRET_BYTES = 32;

/** A fresh secret: `whsec_` + base64 of 32 random bytes. Shown once, at PUT. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(WEBHOOK_SECRET_BYTES).toString('base64');
}

/**
 * `v1,` + base64 HMAC-SHA256 over `<id>.<timestamp>.<body>`, keyed with the decoded part of the secret after
 * `whsec_` — the Standard Webhooks scheme, so any of its verifiers accepts it.
 * @param timestampSeconds Unix seconds of this attempt (a retry signs again with its own time).
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The headers of one delivery attempt: content type, user agent and the three Standard Webhooks headers. */
export function webhookHeaders(
  secret: string,
  eventId: number,
  body: string,
  version: string,
  nowMs: number = Date.now(),
): Record<string, string> {
  const id = String(eventId);
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': `taskhub/${version}`,
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secret, id, timestamp, body),
  };
}
