import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Change } from '../../src/hub/changes.js';
import { createHub } from '../../src/hub/index.js';
import { createDeliveryPlanner } from '../../src/hub/delivery-planner.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { createComposer } from '../../src/transport/email/compose.js';
import { createMailTransport, createOutboxSender } from '../../src/transport/email/outbox-sender.js';
import { createReplyAddresses } from '../../src/transport/email/reply-address.js';
import { addAgent, as, call } from '../helpers/api.js';
import { dbOf, makeDataDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { sendMail, startSmtpSink, type SmtpSink } from '../helpers/smtp.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sink(port?: number): Promise<SmtpSink> {
  const s = await startSmtpSink(port);
  cleanups.push(() => s.close());
  return s;
}

/** A port nothing listens on: an SMTP server that is down. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function hubOn(env: Record<string, string>, dataDir?: string): Promise<TestHub> {
  const hub = await startTestHub(env, dataDir);
  cleanups.push(() => hub.stop());
  return hub;
}

const outboxRows = (hub: TestHub) =>
  dbOf(hub).prepare('SELECT status, attempts, last_error AS lastError FROM outbox ORDER BY id').all() as {
    status: string; attempts: number; lastError: string | null;
  }[];
const stats = async (hub: TestHub) => (await as(hub, hub.adminToken).get('/api/stats')).body.outbox;

describe('outbox delivery', () => {
  it('keeps mail queued through an SMTP outage and delivers it when the server is back', async () => {
    const port = await deadPort();
    const hub = await hubOn({ TASKHUB_SMTP_URL: `smtp://127.0.0.1:${port}` });
    const boss = await addAgent(hub, 'boss');
    await addAgent(hub, 'worker', { email: 'worker@example.com' });
    await boss.post('/api/tasks', { target: 'worker', task: 'during the outage' });
    // A second attempt comes about a second after the first; a loaded machine (CI) can take far longer.
    await expect.poll(() => outboxRows(hub)[0]?.attempts ?? 0, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    await boss.post('/api/tasks', { target: 'worker', task: 'also during the outage' });
    expect(await stats(hub)).toEqual({ queued: 2, sent: 0, failed: 0 });
    expect(outboxRows(hub)[0]!.lastError).toMatch(/ECONNREFUSED|connect/i);

    const back = await sink(port);
    await back.waitFor((mails) => mails.length === 2, 15_000);
    expect(back.mails.map((m) => m.parsed.subject?.replace(/^TASK:\S+ /, '')).sort()).toEqual([
      'also during the outage', 'during the outage',
    ]);
    await expect.poll(() => stats(hub)).toEqual({ queued: 0, sent: 2, failed: 0 });
  }, 45_000);

  it('delivers mail still queued when the hub stopped, after it starts again', async () => {
    const port = await deadPort();
    const env = { TASKHUB_SMTP_URL: `smtp://127.0.0.1:${port}` };
    const dataDir = makeDataDir();
    const first = await startTestHub(env, dataDir);
    const boss = await addAgent(first, 'boss');
    await addAgent(first, 'worker', { email: 'worker@example.com' });
    const id = (await boss.post('/api/tasks', { target: 'worker', task: 'survive a restart' })).body.task.id;
    await expect.poll(() => outboxRows(first)[0]?.attempts ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await first.stop({ keepData: true });

    const back = await sink(port);
    const second = await hubOn(env, dataDir);
    const [mail] = await back.waitFor((mails) => mails.length === 1, 15_000);
    expect(mail!.parsed.headers.get('x-taskhub-task-id')).toBe(id);
    await expect.poll(() => stats(second)).toEqual({ queued: 0, sent: 1, failed: 0 });
  });

  it('writes outbox rows in the transaction of their event: a change that rolls back queues nothing', async () => {
    const up = await sink();
    const hub = await hubOn({ TASKHUB_SMTP_URL: up.url });
    await addAgent(hub, 'worker', { email: 'worker@example.com' });
    const { changes } = hub.hub;
    const message = {
      id: randomUUID(), threadId: randomUUID(), from: 'boss', to: 'worker', subject: 'Hi', body: 'Hello',
      inReplyTo: null, createdAt: new Date().toISOString(), readAt: null,
    };
    const emit = (change: Change) =>
      change.emit({ type: 'message', at: Date.now(), taskId: null, recipients: ['worker'], data: JSON.stringify({ message }) });
    await expect(
      changes.run(async (change) => {
        await emit(change);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(outboxRows(hub)).toEqual([]);
    expect(await hub.store.events.lastId()).toBe(0);
    await changes.run(emit);
    expect(outboxRows(hub)).toHaveLength(1);
    await up.waitFor((mails) => mails.length === 1);
  });

  it('marks an event it cannot compose failed at once, without holding up the mail behind it', async () => {
    const up = await sink();
    const hub = await hubOn({ TASKHUB_SMTP_URL: up.url });
    const boss = await addAgent(hub, 'boss');
    await addAgent(hub, 'worker', { email: 'worker@example.com' });
    const { changes } = hub.hub;
    await changes.run((c) => c.emit({ type: 'task.odd', at: Date.now(), taskId: null, recipients: ['worker'], data: '{}' }));
    await boss.post('/api/tasks', { target: 'worker', task: 'behind it' });
    await up.waitFor((mails) => mails.length === 1);
    expect(outboxRows(hub)[0]).toMatchObject({ status: 'failed', attempts: 1, lastError: expect.stringMatching(/^cannot compose/) });
    await expect.poll(() => stats(hub)).toEqual({ queued: 0, sent: 1, failed: 1 });
  });

  it('flushes due mail when the hub stops', async () => {
    const up = await sink();
    const dataDir = makeDataDir();
    const hub = await startTestHub({ TASKHUB_SMTP_URL: up.url }, dataDir);
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const boss = await addAgent(hub, 'boss');
    await addAgent(hub, 'worker', { email: 'worker@example.com' });
    for (let i = 0; i < 10; i++) await boss.post('/api/tasks', { target: 'worker', task: `task ${i}` });
    await hub.stop({ keepData: true });
    expect(up.mails.length).toBe(10);
    const store = createSqliteStore(path.join(dataDir, 'taskhub.db'));
    expect(await store.outbox.counts()).toEqual({ queued: 0, sent: 10, failed: 0 });
    await store.close();
  });

  it('retries with backoff and marks a mail failed once it is older than the maximum age', async () => {
    const dataDir = makeDataDir();
    const store = createSqliteStore(path.join(dataDir, 'taskhub.db'));
    const hub = createHub(store, { secret: 's'.repeat(32), leaseSeconds: 300, maxAttempts: 3, eventRetentionDays: 7 });
    hub.changes.addPlanner(createDeliveryPlanner({ presence: hub.presence, now: hub.now }));
    const composer = createComposer({
      from: 'taskhub@hub.test', domain: 'hub.test', instanceId: await store.outbox.instanceId(),
      replyAddresses: createReplyAddresses('s'.repeat(32), 'hub.test'),
    });
    const sender = createOutboxSender(
      { outbox: store.outbox, onQueued: (listener) => hub.changes.onQueued('email', listener), transport: createMailTransport({ host: '127.0.0.1', port: await deadPort() }), composer, logger: pino({ level: 'silent' }) },
      { maxAgeMs: 600, retryBaseMs: 50, retryMaxMs: 200 },
    );
    cleanups.push(async () => {
      await sender.stop();
      await hub.stop();
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    sender.start();
    const admin = { name: 'admin', role: 'admin' as const };
    await hub.agents.create(admin, { name: 'worker', email: 'worker@example.com' });
    await hub.tasks.create(admin, { target: 'worker', task: 'never delivered' });

    await expect.poll(() => store.outbox.counts(), { timeout: 10_000 }).toEqual({ queued: 0, sent: 0, failed: 1 });
    const row = store.db.prepare('SELECT attempts, last_error AS lastError, created_at AS createdAt FROM outbox').get() as {
      attempts: number; lastError: string; createdAt: number;
    };
    // 50, 100, 200, 200 ms apart and the last attempt at the age limit: at least four sends in 600 ms.
    expect(row.attempts).toBeGreaterThanOrEqual(4);
    expect(row.lastError).toMatch(/ECONNREFUSED|connect/i);
  });

  it('without TASKHUB_SMTP_URL, keeps outbound mail in the dev mailbox and takes replies on its own listener', async () => {
    const hub = await hubOn({});
    const boss = await addAgent(hub, 'boss');
    const worker = await addAgent(hub, 'worker', { email: 'worker@example.com' });
    await addAgent(hub, 'other', { email: 'other@example.com' });
    const id = (await boss.post('/api/tasks', { target: 'worker', task: 'look in the mailbox', payload: [1] })).body.task.id;
    await boss.post('/api/tasks', { target: 'other', task: 'second' });
    const admin = as(hub, hub.adminToken);
    await expect.poll(async () => (await admin.get('/api/mailbox')).body.mails.length, { timeout: 10_000 }).toBe(2);

    const { mails } = (await admin.get('/api/mailbox?to=worker@example.com')).body;
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(Object.keys(mail).sort()).toEqual(['from', 'headers', 'id', 'json', 'receivedAt', 'subject', 'text', 'to']);
    expect(mail).toMatchObject({ from: 'taskhub@localhost', to: 'worker@example.com', subject: `TASK:${id} look in the mailbox` });
    expect(mail.headers['x-taskhub-task-id']).toBe(id);
    expect(mail.json).toMatchObject({ type: 'task.assigned', taskId: id, task: { payload: [1] } });
    expect(mail.text).toContain('look in the mailbox');
    expect(Date.parse(mail.receivedAt)).not.toBeNaN();
    const all = (await admin.get('/api/mailbox')).body.mails;
    expect(all.map((m: { id: number }) => m.id)).toEqual([...all.map((m: { id: number }) => m.id)].sort((a, b) => a - b));
    expect((await admin.get('/api/mailbox?limit=1')).body.mails.map((m: { to: string }) => m.to)).toEqual(['other@example.com']);

    expect((await worker.get('/api/mailbox')).status).toBe(403);
    expect((await admin.get('/api/mailbox?limit=0')).status).toBe(400);
    expect((await call(hub, undefined, 'GET', '/api/mailbox')).status).toBe(401);

    const replyTo = mail.headers['reply-to'] as string;
    expect((await sendMail(hub.smtpPort, { from: 'worker@example.com', to: replyTo, subject: `RESULT:${id}`, text: 'done' })).ok).toBe(true);
    expect((await boss.get(`/api/tasks/${id}`)).body.task).toMatchObject({ status: 'completed', result: 'done' });
    expect((await admin.get('/api/mailbox')).body.mails).toHaveLength(2);
    await expect.poll(() => stats(hub)).toEqual({ queued: 0, sent: 2, failed: 0 });
  });

  it('keeps the dev mailbox across a restart', async () => {
    const dataDir = makeDataDir();
    const first = await startTestHub({}, dataDir);
    const boss = await addAgent(first, 'boss');
    await addAgent(first, 'worker', { email: 'worker@example.com' });
    await boss.post('/api/tasks', { target: 'worker', task: 'kept' });
    await expect
      .poll(async () => (await as(first, first.adminToken).get('/api/mailbox')).body.mails.length, { timeout: 10_000 })
      .toBe(1);
    await first.stop({ keepData: true });
    const second = await hubOn({}, dataDir);
    const { mails } = (await as(second, second.adminToken).get('/api/mailbox')).body;
    expect(mails.map((m: { subject: string }) => m.subject.split(' ')[1])).toEqual(['kept']);
  });
});
