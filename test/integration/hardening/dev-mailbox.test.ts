import { afterEach, describe, expect, it } from 'vitest';
import { MAILBOX_PREVIEW_CHARS } from '../../../src/transport/email/dev-mailbox.js';
import { as, call } from '../../helpers/api.js';
import { dbOf, startTestHub, type TestHub } from '../../helpers/hub.js';
import { sendMail } from '../../helpers/smtp.js';

let hub: TestHub;
afterEach(async () => {
  await hub.stop();
});

const BOUND = 1 << 20;
const send = (i: number, size: number) =>
  sendMail(hub.smtpPort, { from: 'anyone@example.com', to: `box${i}@example.com`, subject: `mail ${i}`, text: `${i}:`.padEnd(size, 'x') });

describe('the dev mailbox (issue 15, item 5)', () => {
  it('is bounded in bytes, dropping the oldest mails first', async () => {
    hub = await startTestHub({ TASKHUB_DEV_MAILBOX_BYTES: String(BOUND) });
    // Unauthenticated mail to the embedded listener, as anyone on the network can send: 8 × 300 KB against 1 MiB.
    for (let i = 0; i < 8; i++) expect((await send(i, 300_000)).ok).toBe(true);
    const kept = dbOf(hub)
      .prepare('SELECT subject, length(text) + length(headers) AS size FROM dev_mailbox ORDER BY id')
      .all() as Array<{ subject: string; size: number }>;
    expect(kept.map((m) => m.subject)).toEqual(['mail 5', 'mail 6', 'mail 7']);
    expect(kept.reduce((n, m) => n + m.size, 0)).toBeLessThanOrEqual(BOUND);
  });

  it('lists previews in pages, newest last, and serves one whole mail by id', async () => {
    hub = await startTestHub();
    const admin = as(hub, hub.adminToken);
    for (let i = 0; i < 5; i++) expect((await send(i, i === 4 ? 100_000 : 10)).ok).toBe(true);

    const first = await admin.get('/api/mailbox?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.mails.map((m: { subject: string }) => m.subject)).toEqual(['mail 3', 'mail 4']);
    const big = first.body.mails[1];
    expect(big.truncated).toBe(true);
    expect(big.text).toHaveLength(MAILBOX_PREVIEW_CHARS);
    expect(first.body.mails[0].truncated).toBeUndefined();

    const second = await admin.get(`/api/mailbox?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.mails.map((m: { subject: string }) => m.subject)).toEqual(['mail 1', 'mail 2']);
    const last = await admin.get(`/api/mailbox?limit=2&cursor=${second.body.nextCursor}`);
    expect(last.body).toMatchObject({ mails: [{ subject: 'mail 0' }], nextCursor: null });

    const whole = await admin.get(`/api/mailbox/${big.id}`);
    expect(whole.status).toBe(200);
    expect(whole.body.mail.text.trim()).toHaveLength(100_000);
    expect(whole.body.mail.truncated).toBeUndefined();

    expect((await admin.get('/api/mailbox/999999')).status).toBe(404);
    expect((await admin.get('/api/mailbox/abc')).status).toBe(404);
    expect((await admin.get('/api/mailbox?cursor=bm9wZQ')).status).toBe(400);
    expect((await admin.get('/api/mailbox?limit=201')).status).toBe(400);
    expect((await call(hub, undefined, 'GET', `/api/mailbox/${big.id}`)).status).toBe(401);
  });
});
