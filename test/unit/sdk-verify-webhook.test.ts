import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  verifyWebhook,
  WEBHOOK_TOLERANCE_SECONDS,
  WebhookVerificationError,
  type WebhookFailure,
  type WebhookHeaders,
} from '@taskhub/sdk/webhooks';
import * as sdk from '../../src/client/index.js';

// The signer on the other side is the `standardwebhooks` package (written by no one here), so this proves the
// SDK's verifier against the scheme itself, not against the hub's own signing code.
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const event = { id: 42, type: 'task.completed', at: '2025-01-01T00:00:00.000Z', taskId: 't1', task: { title: 'é 😀' } };
const body = JSON.stringify(event);

/** The headers `standardwebhooks` would send for `payload`, signed at `at` (ms). */
function signed(secret: string, payload: string, at = Date.now(), id = '42') {
  const timestamp = new Date(Math.floor(at / 1000) * 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, timestamp, payload),
  };
}

function refusal(run: () => unknown): WebhookFailure {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).reason;
  }
  throw new Error('verifyWebhook accepted it');
}

describe('verifyWebhook against the standardwebhooks package', () => {
  it('accepts what standardwebhooks signs and returns the event, for every header and body form', () => {
    const secret = newSecret();
    const headers = signed(secret, body);
    const forms: Array<[WebhookHeaders, string | Uint8Array]> = [
      [headers, body],
      [new Headers(headers), body],
      [Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v])), body],
      [headers, Buffer.from(body)],
      [headers, new TextEncoder().encode(body)],
    ];
    for (const [h, b] of forms) expect(verifyWebhook(secret, h, b)).toEqual(event);
  });

  it('signs what standardwebhooks accepts: the same HMAC, checked the other way round', () => {
    const secret = newSecret();
    const ours = signed(secret, body);
    // The other direction: standardwebhooks verifies, and the SDK accepts exactly the headers it accepts.
    expect(new Webhook(secret).verify(body, ours)).toEqual(event);
    expect(verifyWebhook(secret, ours, body)).toEqual(new Webhook(secret).verify(body, ours));
    const tampered = { ...ours, 'webhook-id': '43' };
    expect(() => new Webhook(secret).verify(body, tampered)).toThrow();
    expect(refusal(() => verifyWebhook(secret, tampered, body))).toBe('invalid_signature');
  });

  it('accepts any one of several space-separated signatures and skips other versions', () => {
    const secret = newSecret();
    const headers = signed(secret, body);
    const other = signed(newSecret(), body)['webhook-signature'];
    const list = `v2,${headers['webhook-signature'].slice(3)} ${other} ${headers['webhook-signature']}`;
    expect(verifyWebhook(secret, { ...headers, 'webhook-signature': list }, body)).toEqual(event);
    // The v1 MAC under a v2 label alone is not a v1 signature.
    const relabelled = `v2,${headers['webhook-signature'].slice(3)} ${other}`;
    expect(refusal(() => verifyWebhook(secret, { ...headers, 'webhook-signature': relabelled }, body))).toBe('invalid_signature');
  });

  it('refuses a tampered body, as standardwebhooks does', () => {
    const secret = newSecret();
    const headers = signed(secret, body);
    const tampered = body.replace('"t1"', '"t2"');
    expect(() => new Webhook(secret).verify(tampered, headers)).toThrow();
    expect(refusal(() => verifyWebhook(secret, headers, tampered))).toBe('invalid_signature');
    expect(refusal(() => verifyWebhook(secret, headers, `${body} `))).toBe('invalid_signature');
    // Parsed and serialised again is not the body that was signed: the raw body is what must be passed.
    const reserialised = JSON.stringify(JSON.parse(body), null, 1);
    expect(refusal(() => verifyWebhook(secret, headers, reserialised))).toBe('invalid_signature');
  });

  it('refuses another secret', () => {
    const headers = signed(newSecret(), body);
    expect(refusal(() => verifyWebhook(newSecret(), headers, body))).toBe('invalid_signature');
  });

  it('refuses a timestamp older or further ahead than 5 minutes, and the tolerance can be changed', () => {
    const secret = newSecret();
    expect(WEBHOOK_TOLERANCE_SECONDS).toBe(300);
    const stale = signed(secret, body, Date.now() - 301_000);
    const future = signed(secret, body, Date.now() + 301_000);
    expect(() => new Webhook(secret).verify(body, stale)).toThrow(/too old/);
    expect(refusal(() => verifyWebhook(secret, stale, body))).toBe('timestamp_too_old');
    expect(() => new Webhook(secret).verify(body, future)).toThrow(/too new/);
    expect(refusal(() => verifyWebhook(secret, future, body))).toBe('timestamp_too_new');
    expect(verifyWebhook(secret, stale, body, { toleranceSeconds: 600 })).toEqual(event);
    expect(verifyWebhook(secret, signed(secret, body, Date.now() - 299_000), body)).toEqual(event);
    const now = Date.now();
    expect(refusal(() => verifyWebhook(secret, signed(secret, body, now - 20_000), body, { toleranceSeconds: 10, nowMs: now }))).toBe(
      'timestamp_too_old',
    );
  });

  it('says which header is wrong: missing ones, a timestamp that is not seconds', () => {
    const secret = newSecret();
    const headers = signed(secret, body);
    for (const name of Object.keys(headers)) {
      const without = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));
      expect(refusal(() => verifyWebhook(secret, without, body))).toBe('missing_headers');
    }
    expect(refusal(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': '' }, body))).toBe('missing_headers');
    expect(refusal(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': '17e8' }, body))).toBe('invalid_timestamp');
  });

  it('refuses a signed body that is not JSON', () => {
    const secret = newSecret();
    expect(refusal(() => verifyWebhook(secret, signed(secret, 'not json'), 'not json'))).toBe('invalid_body');
  });

  it('throws a TypeError, not a refusal, for a secret that is not whsec_ + base64', () => {
    const headers = signed(newSecret(), body);
    for (const bad of ['', 'whsec_', 'whsec_not base64!', 'whsec_abc']) {
      expect(() => verifyWebhook(bad, headers, body)).toThrow(TypeError);
    }
  });

  it("takes Node's req.headers as they are typed (a compile-time check as much as a run-time one)", () => {
    const secret = newSecret();
    const req = { headers: { ...signed(secret, body), 'set-cookie': ['a=1'] } } as unknown as IncomingMessage;
    expect(verifyWebhook(secret, req.headers, body)).toEqual(event);
  });

  it('is exported from the SDK root as well', () => {
    expect(sdk.verifyWebhook).toBe(verifyWebhook);
    expect(new WebhookVerificationError('invalid_signature', 'x')).toBeInstanceOf(sdk.TaskhubError);
  });
});
