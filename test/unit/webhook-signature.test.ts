import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, webhookHeaders } from '../../src/hub/webhooks/signature.js';

const body = JSON.stringify({ id: 42, type: 'task.created', data: { title: 'é 😀' } });

describe('webhook signature', () => {
  it('is a secret of whsec_ + base64 of 32 random bytes, new each time', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(a);
  });

  it('verifies with the standardwebhooks package, with the headers the contract names', () => {
    const secret = generateWebhookSecret();
    const headers = webhookHeaders(secret, 42, body, '2.0.0');
    expect(headers['webhook-id']).toBe('42');
    expect(headers['user-agent']).toBe('taskhub/2.0.0');
    expect(headers['content-type']).toBe('application/json');
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('is refused by standardwebhooks for a tampered body, another secret or a stale timestamp', () => {
    const secret = generateWebhookSecret();
    const headers = webhookHeaders(secret, 42, body, '2.0.0');
    expect(() => new Webhook(secret).verify(body.replace('42', '43'), headers)).toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
    const stale = webhookHeaders(secret, 42, body, '2.0.0', Date.now() - 10 * 60_000);
    expect(() => new Webhook(secret).verify(body, stale)).toThrow(/timestamp/i);
  });
});
