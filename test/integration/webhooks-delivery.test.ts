import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, as, type Client } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.js';
import { openStream } from '../helpers/stream.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

let sink: SmtpSink;
let receiver: Receiver;
let hub: TestHub;
let boss: Client & { name: string };
let worker: Client & { name: string };

/** Short delays so that retries, timeouts and the 24 h give-up happen within a test. */
const FAST = {
  TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true',
  TASKHUB_WEBHOOK_RETRY_BASE_MS: '50',
  TASKHUB_WEBHOOK_RETRY_MAX_MS: '200',
  TASKHUB_WEBHOOK_TIMEOUT_MS: '300',
};

async function start(env: Record<string, string> = {}) {
  hub = await startTestHub({ ...FAST, TASKHUB_SMTP_URL: sink.url, ...env });
  boss = await addAgent(hub, 'boss');
  worker = await addAgent(hub, 'worker', { email: 'worker@example.com' });
}

beforeEach(async () => {
  sink = await startSmtpSink();
  receiver = await startReceiver();
});
afterEach(async () => {
  await hub.stop();
  await receiver.close();
  await sink.close();
});

const assign = (task = 'do it') => boss.post('/api/tasks', { target: 'worker', task }).then((r) => r.body.task);
const setHook = async (body: { url?: string; events?: string[] } = {}) => {
  const res = await worker.put('/api/agents/worker/webhook', { url: receiver.url, ...body });
  expect(res.status).toBe(200);
  return res.body.secret as string;
};
const stats = async () => (await as(hub, hub.adminToken).get('/api/stats')).body.webhooks;

describe('webhook delivery', () => {
  beforeEach(() => start());

  it('POSTs the event exactly as the SSE data line, signed so that the standardwebhooks verifier accepts it', async () => {
    const secret = await setHook();
    const task = await assign('summarise');
    const [post] = await receiver.waitFor(1);
    expect(post!.method).toBe('POST');
    expect(post!.headers['content-type']).toBe('application/json');
    expect(post!.headers['user-agent']).toMatch(/^taskhub\/\d+\.\d+\.\d+/);
    const [event] = (await boss.get(`/api/tasks/${task.id}/events`)).body.events;
    expect(post!.headers['webhook-id']).toBe(String(event.id));
    expect(Math.abs(Number(post!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(JSON.parse(post!.body)).toEqual(event);
    const verified = new Webhook(secret).verify(post!.body, post!.headers);
    expect(verified).toEqual(event);
    await expect.poll(stats).toEqual({ queued: 0, sent: 1, failed: 0 });
    expect((await worker.get('/api/agents/worker/webhook')).body.deliveries).toEqual({ queued: 0, sent: 1, failed: 0 });
    const metrics = (await fetch(`${hub.url}/metrics`).then((r) => r.text())).split('\n');
    expect(metrics).toContain('taskhub_webhook_deliveries_total{outcome="sent"} 1');
    expect(metrics).toContain('taskhub_webhook_deliveries{status="sent"} 1');
  });

  it('is refused by the verifier with a tampered body, a stale timestamp or another secret', async () => {
    const secret = await setHook();
    await assign();
    const [post] = await receiver.waitFor(1);
    const verifier = new Webhook(secret);
    expect(() => verifier.verify(post!.body.replace('do it', 'do that'), post!.headers)).toThrow(/signature/i);
    const stale = String(Number(post!.headers['webhook-timestamp']) - 3600);
    expect(() => verifier.verify(post!.body, { ...post!.headers, 'webhook-timestamp': stale })).toThrow(/timestamp/i);
    const other = (await worker.put('/api/agents/worker/webhook', { url: receiver.url })).body.secret;
    expect(() => new Webhook(other).verify(post!.body, post!.headers)).toThrow(/signature/i);
  });

  it('sends nothing to a connected agent, and no email to an agent with a webhook', async () => {
    await setHook();
    const stream = openStream(hub.url, worker.token);
    await stream.waitFor((es) => es.some((e) => e.type === 'ready'));
    const first = await assign('while connected');
    await stream.waitFor((es) => es.some((e) => e.data?.taskId === first.id));
    stream.close();
    await expect.poll(async () => (await hub.hub.presence.streams(['worker'])).has('worker')).toBe(false);
    const second = await assign('while away');
    const posts = await receiver.waitFor(1);
    expect(JSON.parse(posts[0]!.body).taskId).toBe(second.id);
    // The mail that would have gone without the webhook would be sent by now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(1);
    expect(sink.mails).toHaveLength(0);
  });

  it('POSTs only the event types asked for; the others are neither POSTed nor mailed', async () => {
    await setHook({ events: ['message'] });
    await assign('not wanted');
    await boss.post('/api/messages', { to: 'worker', subject: 'hello', body: 'there' });
    const [post] = await receiver.waitFor(1);
    expect(JSON.parse(post!.body)).toMatchObject({ type: 'message', message: { subject: 'hello' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(1);
    expect(sink.mails).toHaveLength(0);
  });

  it('retries a failing receiver with growing delays, with the same webhook-id, until it answers 2xx', async () => {
    receiver.behave((n) => (n < 3 ? 500 : 200));
    await setHook();
    await assign();
    const posts = await receiver.waitFor(4);
    expect(new Set(posts.map((p) => p.headers['webhook-id'])).size).toBe(1);
    const gaps = posts.slice(1).map((p, i) => p.at - posts[i]!.at);
    // 50, 100, 200 ms ±20%: each at least the jittered floor, and growing until the cap.
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(150);
    await expect.poll(stats).toEqual({ queued: 0, sent: 1, failed: 0 });
  });

  it('gives a hanging receiver up after the timeout and retries', async () => {
    receiver.behave((n) => (n === 0 ? 'hang' : 200));
    await setHook();
    await assign();
    const posts = await receiver.waitFor(2);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(300);
    await expect.poll(stats).toEqual({ queued: 0, sent: 1, failed: 0 });
  });

  it('removes the webhook on 410 Gone; later events go to email', async () => {
    receiver.behave(() => 410);
    await setHook();
    await assign('first');
    await receiver.waitFor(1);
    await expect.poll(async () => (await worker.get('/api/agents/worker/webhook')).status).toBe(404);
    const later = await assign('second');
    const [mail] = await sink.waitFor((ms) => ms.length > 0);
    expect(mail!.parsed.subject).toBe(`TASK:${later.id} second`);
    expect(receiver.received).toHaveLength(1);
    expect(await stats()).toMatchObject({ queued: 0, sent: 0, failed: 1 });
    expect((await fetch(`${hub.url}/metrics`).then((r) => r.text())).split('\n')).toContain('taskhub_webhook_deliveries_total{outcome="gone"} 1');
  });
});

describe('webhook delivery giving up', () => {
  beforeEach(() => start({ TASKHUB_WEBHOOK_MAX_AGE_MS: '400' }));

  it('marks a delivery failed after the max age, counts and lists it, and sends it again on retry', async () => {
    receiver.behave(() => 503);
    await setHook();
    const task = await assign();
    await expect.poll(stats, { timeout: 5000 }).toEqual({ queued: 0, sent: 0, failed: 1 });
    const state = (await worker.get('/api/agents/worker/webhook')).body;
    const [event] = (await boss.get(`/api/tasks/${task.id}/events`)).body.events;
    expect(state.deliveries).toEqual({ queued: 0, sent: 0, failed: 1 });
    expect(state.failed).toEqual([{ eventId: event.id, attempts: expect.any(Number), lastError: 'HTTP 503', lastAttemptAt: expect.any(String) }]);
    expect(state.failed[0].attempts).toBeGreaterThan(1);
    const tries = receiver.received.length;

    receiver.behave(() => 200);
    expect((await worker.post('/api/agents/worker/webhook/retry')).body).toEqual({ requeued: 1 });
    const posts = await receiver.waitFor(tries + 1);
    expect(posts.at(-1)!.headers['webhook-id']).toBe(String(event.id));
    await expect.poll(stats).toEqual({ queued: 0, sent: 1, failed: 0 });
    expect((await worker.get('/api/agents/worker/webhook')).body.failed).toEqual([]);
  });
});

describe('webhook delivery across a restart', () => {
  beforeEach(() => start());

  it('keeps deliveries queued while the hub is down and sends them after it starts again', async () => {
    receiver.behave(() => 503);
    await setHook();
    for (let i = 0; i < 5; i++) await assign(`task ${i}`);
    await receiver.waitFor(5);
    const dataDir = hub.dataDir;
    await hub.stop({ keepData: true });
    receiver.behave(() => 200);
    hub = await startTestHub({ ...FAST, TASKHUB_SMTP_URL: sink.url }, dataDir);
    await expect.poll(stats, { timeout: 10_000 }).toEqual({ queued: 0, sent: 5, failed: 0 });
    const ids = new Set(receiver.received.filter((p) => p.headers['webhook-id']).map((p) => p.headers['webhook-id']));
    expect(ids.size).toBe(5);
  });

  it('stops while a delivery hangs, hands it back, and sends it after the restart with the same webhook-id', async () => {
    receiver.behave(() => 'hang');
    const slow = { ...FAST, TASKHUB_WEBHOOK_TIMEOUT_MS: '10000' };
    const dataDir = hub.dataDir;
    await hub.stop({ keepData: true });
    hub = await startTestHub({ ...slow, TASKHUB_SMTP_URL: sink.url }, dataDir);
    boss = as(hub, boss.token) as typeof boss;
    worker = as(hub, worker.token) as typeof worker;
    await setHook();
    await assign();
    const [first] = await receiver.waitFor(1);
    const started = Date.now();
    await hub.stop({ keepData: true });
    // The sender's flush bound (2 s), not the 10 s timeout.
    expect(Date.now() - started).toBeLessThan(5000);
    receiver.behave(() => 200);
    hub = await startTestHub({ ...slow, TASKHUB_SMTP_URL: sink.url }, dataDir);
    const posts = await receiver.waitFor(2);
    expect(posts[1]!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    await expect.poll(stats).toEqual({ queued: 0, sent: 1, failed: 0 });
  });
});
