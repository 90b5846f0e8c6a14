import { Writable } from 'node:stream';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { addAgent, call } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { memoryLogger } from '../helpers/logs.js';
import { sendMail, startSmtpSink, type SmtpSink } from '../helpers/smtp.js';
import { openStream } from '../helpers/stream.js';

const WAIT = { timeout: 10_000, interval: 25 };
let hub: TestHub | undefined;
let sink: SmtpSink | undefined;
afterEach(async () => {
  await hub?.stop();
  await sink?.close();
  hub = sink = undefined;
});

async function scrape(): Promise<Map<string, ReturnType<typeof parsePrometheus>[number]>> {
  const res = await fetch(`${hub!.url}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Map(parsePrometheus(await res.text()).map((family) => [family.name, family]));
}

/** The value of one sample of a counter or gauge, 0 when absent. */
function sample(families: Map<string, any>, name: string, labels: Record<string, string> = {}): number {
  const found = families.get(name)?.metrics.find((m: any) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return Number(found?.value ?? found?.count ?? 0);
}

describe('logs', () => {
  it('are JSON lines off a terminal or with LOG_FORMAT=json, pretty lines with ISO times on one', () => {
    const captured: string[] = [];
    const out = Object.assign(new Writable({ write: (c, _e, done) => (captured.push(String(c)), done()) }), { isTTY: true });
    createLogger(loadConfig({ LOG_LEVEL: 'info' }), out).info({ agent: 'bot' }, 'stream opened');
    expect(captured.join('')).toMatch(/^\S*\[?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\]?\S* \S*INFO\S*.*stream opened.*agent.*bot/);
    captured.length = 0;
    createLogger(loadConfig({ LOG_FORMAT: 'json' }), out).info('x');
    expect(JSON.parse(captured.join(''))).toMatchObject({ msg: 'x', time: expect.stringMatching(/^\d{4}-.*Z$/) });
    captured.length = 0;
    createLogger(loadConfig({}), Object.assign(out, { isTTY: false })).info('y');
    expect(JSON.parse(captured.join(''))).toMatchObject({ msg: 'y', level: 30 });
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });

  it('say when a stream opens and closes, a task fails, is cancelled or expires, a rate limit is hit; debug per request', async () => {
    const log = memoryLogger();
    hub = await startTestHub({ TASKHUB_RATE_LIMIT: '4' }, undefined, log.logger);
    const boss = await addAgent(hub, 'boss');
    const bot = await addAgent(hub, 'bot');
    const stream = openStream(hub.url, bot.token);
    await stream.waitFor((events) => events.some((e) => e.type === 'ready'));
    const [a, b] = await Promise.all([1, 2].map(async (n) => (await boss.post('/api/tasks', { target: 'bot', task: `t${n}` })).body.task));
    await bot.post(`/api/tasks/${a.id}/fail`, { error: 'no can do' });
    await boss.post(`/api/tasks/${b.id}/cancel`);
    const soon = new Date(Date.now() + 300).toISOString();
    const c = (await boss.post('/api/tasks', { target: 'bot', task: 't3', deadline: soon })).body.task;
    for (let i = 0; i < 5; i++) await boss.post('/api/tasks', { target: 'bot', task: 'over' });
    stream.close();

    await vi.waitFor(() => expect(log.withMessage('stream closed')).toHaveLength(1), WAIT);
    await vi.waitFor(() => expect(log.withMessage('task expired')).toMatchObject([{ taskId: c.id, target: 'bot' }]), WAIT);
    expect(log.withMessage('stream opened')).toMatchObject([{ subscriber: 'bot', streams: 1, level: 30 }]);
    expect(log.withMessage('stream closed')).toMatchObject([{ subscriber: 'bot', reason: 'client', streams: 0 }]);
    expect(log.withMessage('task failed')).toMatchObject([{ taskId: a.id, error: 'no can do', assigner: 'boss', target: 'bot' }]);
    expect(log.withMessage('task cancelled')).toMatchObject([{ taskId: b.id }]);
    // Five refusals in a row: one line.
    expect(log.withMessage(/^rate limit hit/)).toMatchObject([{ code: 'rate_limited', caller: 'boss', level: 30 }]);
    const requests = log.withMessage('request');
    expect(requests.length).toBeGreaterThanOrEqual(10);
    expect(requests.every((r) => r.level === 20)).toBe(true);
    expect(requests).toContainEqual(expect.objectContaining({ method: 'POST', path: `/api/tasks/${a.id}/fail`, status: 200, actor: 'bot' }));
    expect(requests).toContainEqual(expect.objectContaining({ method: 'POST', path: '/api/tasks', status: 429, actor: 'boss' }));
    for (const secret of [hub.adminToken, boss.token, bot.token]) expect(log.lines.join('\n')).not.toContain(secret);
  });

  it('say when a mail is sent, a reply taken or a mail refused, without the reply address; a reply counts as seen', async () => {
    sink = await startSmtpSink();
    const log = memoryLogger('info');
    hub = await startTestHub({ TASKHUB_SMTP_URL: sink.url, TASKHUB_MAIL_DOMAIN: 'hub.test' }, undefined, log.logger);
    const boss = await addAgent(hub, 'boss');
    await addAgent(hub, 'worker', { email: 'worker@example.com' });
    const id = (await boss.post('/api/tasks', { target: 'worker', task: 'by mail' })).body.task.id as string;
    const [mail] = await sink.waitFor((ms) => ms.length > 0);
    const replyTo = mail!.parsed.replyTo!.value[0]!.address!;
    expect((await call(hub, hub.adminToken, 'GET', '/api/agents/worker')).body.agent.lastSeen).toBeNull();

    expect((await sendMail(hub.smtpPort, { from: 'mallory@example.com', to: replyTo, subject: `RESULT:${id}`, text: 'x' })).ok).toBe(false);
    expect((await sendMail(hub.smtpPort, { from: 'worker@example.com', to: replyTo, subject: `ACK:${id}` })).ok).toBe(true);

    await vi.waitFor(() => expect(log.withMessage('mail sent')).toMatchObject([{ agent: 'worker', type: 'task.assigned' }]), WAIT);
    expect(log.withMessage('mail refused')).toMatchObject([{ smtpCode: 550, why: expect.stringContaining('is not a reply address') }]);
    expect(log.withMessage('mail reply taken')).toMatchObject([{ agent: 'worker', kind: 'task', id }]);
    expect(log.lines.join('\n')).not.toContain(replyTo.split('@')[0]);
    // lastSeen is written beside the reply, not inside its change (hub/agents.ts `touch`): on PostgreSQL it can
    // land a moment after the reply is taken.
    await vi.waitFor(async () => expect((await call(hub!, hub!.adminToken, 'GET', '/api/agents/worker')).body.agent.lastSeen).not.toBeNull(), WAIT);

    const families = await scrape();
    expect(sample(families, 'taskhub_mails_sent_total', { outcome: 'sent' })).toBe(1);
    expect(sample(families, 'taskhub_mails_received_total', { outcome: 'reply' })).toBe(1);
    expect(sample(families, 'taskhub_mails_received_total', { outcome: 'refused' })).toBe(1);
  });
});

describe('metrics', () => {
  it('parse as Prometheus text, with process and Node.js metrics, task, event and rpc counters and bounded routes', async () => {
    hub = await startTestHub();
    const boss = await addAgent(hub, 'boss');
    const bot = await addAgent(hub, 'bot', { capabilities: ['echo'] });
    const stream = openStream(hub.url, bot.token);
    await stream.waitFor((events) => events.some((e) => e.type === 'ready'));
    const tasks = [];
    for (const n of [1, 2, 3]) tasks.push((await boss.post('/api/tasks', { target: 'bot', task: `t${n}` })).body.task);
    await bot.post(`/api/tasks/${tasks[0].id}/complete`, { result: 1 });
    await bot.post(`/api/tasks/${tasks[1].id}/fail`, { error: 'no', retry: true });
    await boss.post(`/api/tasks/${tasks[2].id}/cancel`);
    const answering = stream.waitFor((events) => events.some((e) => e.type === 'task.assigned' && e.data.task.kind === 'rpc'));
    const rpc = boss.post('/api/tasks/rpc', { capability: 'echo', task: 'echo', payload: 'hi', timeout: 30 });
    const asked = (await answering).find((e) => e.type === 'task.assigned' && e.data.task.kind === 'rpc')!;
    await bot.post(`/api/tasks/${asked.data.taskId}/complete`, { result: 'hi' });
    expect((await rpc).body).toMatchObject({ status: 'completed', result: 'hi' });
    stream.close();
    await vi.waitFor(async () => expect((await call(hub!, hub!.adminToken, 'GET', '/api/agents/bot')).body.agent.connected).toBe(false), WAIT);
    await fetch(`${hub.url}/`);
    await fetch(`${hub.url}/css/dashboard.css`);
    await fetch(`${hub.url}/no/such/file`);
    await call(hub, 'bad', 'GET', `/api/tasks/${tasks[0].id}`);
    await call(hub, hub.adminToken, 'GET', '/api/nothing/here');

    const families = await scrape();
    for (const name of ['taskhub_process_cpu_user_seconds_total', 'taskhub_process_resident_memory_bytes', 'taskhub_nodejs_eventloop_lag_seconds', 'taskhub_nodejs_heap_size_used_bytes']) {
      expect(families.has(name), name).toBe(true);
    }
    expect(sample(families, 'taskhub_tasks_created_total')).toBe(4);
    expect(sample(families, 'taskhub_tasks_finished_total', { outcome: 'completed' })).toBe(2);
    expect(sample(families, 'taskhub_tasks_finished_total', { outcome: 'cancelled' })).toBe(1);
    expect(sample(families, 'taskhub_tasks_finished_total', { outcome: 'failed' })).toBe(0);
    expect(sample(families, 'taskhub_events_total', { type: 'task.assigned' })).toBe(5);
    expect(sample(families, 'taskhub_events_total', { type: 'task.completed' })).toBe(2);
    expect(sample(families, 'taskhub_rpc_total', { outcome: 'completed' })).toBe(1);
    const rpcDuration = families.get('taskhub_rpc_duration_seconds')!;
    expect(rpcDuration.type).toBe('HISTOGRAM');
    // The parser folds a labelled histogram into its buckets (one outcome here): every bucket holds the one call.
    expect(rpcDuration.metrics).toMatchObject([{ buckets: { '+Inf': '1', '300': '1' } }]);

    const routes = new Set(families.get('taskhub_http_requests_total')!.metrics.map((m) => m.labels!.route));
    expect(routes).toEqual(
      new Set(['/api/agents', '/api/events', '/api/tasks', '/api/tasks/:id/complete', '/api/tasks/:id/fail', '/api/tasks/:id/cancel', '/api/tasks/rpc', 'static', 'unmatched', '/api/tasks/:id', '/api/agents/:name']),
    );
    const requests = (labels: Record<string, string>) => sample(families, 'taskhub_http_requests_total', labels);
    expect(requests({ route: 'static', status: '200' })).toBe(2);
    expect(requests({ route: '/api/tasks/:id', status: '401' })).toBe(1);
    expect(requests({ route: 'unmatched', status: '404' })).toBe(2);
  });
});
