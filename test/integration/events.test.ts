import { afterEach, describe, expect, it } from 'vitest';
import { addAgent, as, call } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { memoryLogger } from '../helpers/logs.js';
import { rawStream } from '../helpers/raw-stream.js';
import { openStream, type TestStream } from '../helpers/stream.js';

let hub: TestHub;
const streams: TestStream[] = [];
const open = (token: string, options?: { lastEventId?: string }) => {
  const stream = openStream(hub.url, token, options);
  streams.push(stream);
  return stream;
};
const ready = (s: TestStream) => s.waitFor((e) => e.some((x) => x.type === 'ready'));

afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await hub.stop();
});

describe('the event stream', () => {
  it('opens with a ready frame (no id before the first event), then pushes each event to whom it concerns', async () => {
    hub = await startTestHub();
    const boss = await addAgent(hub, 'boss');
    const worker = await addAgent(hub, 'worker');
    const bossStream = open(boss.token);
    const workerStream = open(worker.token);
    await Promise.all([ready(bossStream), ready(workerStream)]);
    expect(workerStream.received[0]).toEqual({
      type: 'ready',
      lastEventId: '',
      data: { type: 'ready', agent: 'worker', lastEventId: 0 },
    });

    const task = (await boss.post('/api/tasks', { target: 'worker', task: 'x', payload: [1] })).body.task;
    await workerStream.waitFor((e) => e.some((x) => x.type === 'task.assigned'));
    await worker.post(`/api/tasks/${task.id}/claim`);
    await worker.post(`/api/tasks/${task.id}/progress`, { message: 'going', progress: 0.3 });
    await worker.post(`/api/tasks/${task.id}/complete`, { result: 'done' });
    const cancelled = (await boss.post('/api/tasks', { target: 'worker', task: 'y' })).body.task;
    await boss.post(`/api/tasks/${cancelled.id}/cancel`);

    await bossStream.waitFor((e) => e.filter((x) => x.type !== 'ready').length === 4);
    await workerStream.waitFor((e) => e.filter((x) => x.type !== 'ready').length === 3);
    expect(bossStream.events().map((e) => e.type)).toEqual([
      'task.claimed',
      'task.progress',
      'task.completed',
      'task.cancelled',
    ]);
    expect(workerStream.events().map((e) => e.type)).toEqual(['task.assigned', 'task.assigned', 'task.cancelled']);
    const assigned = workerStream.events()[0]!;
    expect(assigned.data).toMatchObject({ id: Number(assigned.lastEventId), type: 'task.assigned', taskId: task.id });
    expect(assigned.data.task).toMatchObject({ id: task.id, status: 'assigned', payload: [1] });
    expect(assigned.data.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(bossStream.events()[1]!.data.progress).toEqual({ message: 'going', progress: 0.3 });
    expect(bossStream.events()[2]!.data.task).toMatchObject({ status: 'completed', result: 'done' });
    // One hub-wide sequence; the cancel is one event (id 6) that both sides receive.
    const ids = [...bossStream.events(), ...workerStream.events()].map((e) => e.data.id);
    expect([...new Set(ids)].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('puts the id it continues after on ready once events exist, so a client that drops at once resumes there', async () => {
    hub = await startTestHub();
    const boss = await addAgent(hub, 'boss');
    const worker = await addAgent(hub, 'worker');
    for (let i = 0; i < 2; i++) await boss.post('/api/tasks', { target: 'worker', task: `t${i}` });
    const raw = rawStream(hub.url, worker.token);
    try {
      await expect.poll(() => raw.text()).toContain('event: ready');
      expect(raw.text()).toContain('id: 2\nevent: ready\ndata: {"type":"ready","agent":"worker","lastEventId":2}\n\n');
    } finally {
      raw.close();
    }
    // The EventSource takes ready's id as its Last-Event-ID: a reconnect from it gets only what came after.
    const fresh = open(worker.token);
    await ready(fresh);
    expect(fresh.received[0]!.lastEventId).toBe('2');
    await boss.post('/api/tasks', { target: 'worker', task: 'later' });
    const resumed = open(worker.token, { lastEventId: fresh.received[0]!.lastEventId });
    await resumed.waitFor((e) => e.some((x) => x.type === 'task.assigned'));
    expect(resumed.events().map((e) => [e.data.id, e.data.task.task])).toEqual([[3, 'later']]);
  });

  it('gives the admin stream every event', async () => {
    hub = await startTestHub();
    const a = await addAgent(hub, 'a');
    await addAgent(hub, 'b');
    const firehose = open(hub.adminToken);
    await ready(firehose);
    const task = (await a.post('/api/tasks', { target: 'b', task: 'x' })).body.task;
    await a.post(`/api/tasks/${task.id}/cancel`);
    await firehose.waitFor((e) => e.length === 3);
    expect(firehose.events().map((e) => e.type)).toEqual(['task.assigned', 'task.cancelled']);
    expect(firehose.received[0]!.data.agent).toBe('admin');
  });

  it('replays after Last-Event-ID (header or query) only the agent\'s own later events, in order', async () => {
    hub = await startTestHub();
    const boss = await addAgent(hub, 'boss');
    const worker = await addAgent(hub, 'worker');
    const other = await addAgent(hub, 'other');
    for (let i = 0; i < 3; i++) await boss.post('/api/tasks', { target: 'worker', task: `w${i}` });
    await boss.post('/api/tasks', { target: 'other', task: 'not for worker' });
    await other.post('/api/tasks', { target: 'worker', task: 'w3' });

    const fromHeader = open(worker.token, { lastEventId: '1' });
    await fromHeader.waitFor((e) => e.filter((x) => x.type === 'task.assigned').length === 3);
    expect(fromHeader.received[0]!.data.lastEventId).toBe(1);
    expect(fromHeader.events().map((e) => e.data.id)).toEqual([2, 3, 5]);

    const res = await fetch(`${hub.url}/api/events?lastEventId=3`, { headers: { authorization: `Bearer ${worker.token}` } });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('id: 5')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    // Only ready carries the id resumed from; no event at or below it is sent again.
    expect(text).toContain('id: 3\nevent: ready\n');
    expect(text.replace('id: 3\nevent: ready\n', '')).not.toMatch(/^id: [1234]$/m);
  });

  it('misses nothing and repeats nothing when events keep arriving during a long replay', async () => {
    hub = await startTestHub();
    const admin = as(hub, hub.adminToken);
    const worker = await addAgent(hub, 'worker');
    const padding = 'x'.repeat(2000);
    const create = (i: number) => admin.post('/api/tasks', { target: 'worker', task: `t${i}`, payload: padding });
    for (let i = 0; i < 1200; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => create(i + k)));

    const stream = open(worker.token, { lastEventId: '0' });
    const during = Promise.all(Array.from({ length: 200 }, (_, k) => create(1200 + k)));
    await during;
    await stream.waitFor((e) => e.filter((x) => x.type === 'task.assigned').length >= 1400, 30_000);
    const ids = stream.events().map((e) => e.data.id);
    expect(ids).toHaveLength(1400);
    expect(new Set(ids).size).toBe(1400);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    expect(ids[0]).toBe(1);
    expect(ids[1399]).toBe(1400);
  });

  it('sends reset with the newest id for an id it no longer keeps or never issued', async () => {
    hub = await startTestHub();
    const boss = await addAgent(hub, 'boss');
    const worker = await addAgent(hub, 'worker');
    for (let i = 0; i < 3; i++) await boss.post('/api/tasks', { target: 'worker', task: `t${i}` });
    await hub.hub.pruneEvents(Date.now() + 1);

    const old = open(worker.token, { lastEventId: '1' });
    await old.waitFor((e) => e.some((x) => x.type === 'reset'));
    expect(old.events()).toEqual([{ type: 'reset', lastEventId: '3', data: { type: 'reset', lastEventId: 3 } }]);
    await boss.post('/api/tasks', { target: 'worker', task: 'after' });
    await old.waitFor((e) => e.some((x) => x.type === 'task.assigned'));
    expect(old.events().map((e) => e.data.id)).toEqual([undefined, 4]);

    const future = open(worker.token, { lastEventId: '99' });
    await future.waitFor((e) => e.some((x) => x.type === 'reset'));
    // Up to date: no reset for the newest id.
    const current = open(worker.token, { lastEventId: '4' });
    await ready(current);
    await boss.post('/api/tasks', { target: 'worker', task: 'later' });
    await current.waitFor((e) => e.some((x) => x.type === 'task.assigned'));
    expect(current.events().map((e) => e.type)).toEqual(['task.assigned']);
  });

  it('rejects a malformed Last-Event-ID and a missing token', async () => {
    hub = await startTestHub();
    const worker = await addAgent(hub, 'worker');
    const bad = await call(hub, worker.token, 'GET', '/api/events', undefined, { 'last-event-id': 'abc' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    const anonymous = await call(hub, undefined, 'GET', '/api/events');
    expect(anonymous.status).toBe(401);
  });

  it('sends a ping comment when a stream has been quiet for the heartbeat interval', async () => {
    hub = await startTestHub({ TASKHUB_HEARTBEAT_MS: '50' });
    const worker = await addAgent(hub, 'worker');
    const raw = rawStream(hub.url, worker.token);
    await expect.poll(() => raw.text().split(': ping\n\n').length - 1, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(raw.text()).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(raw.text()).toMatch(/content-type: text\/event-stream/i);
    raw.close();
  });

  it('refuses more than TASKHUB_MAX_STREAMS streams for one agent with 429 too_many_streams', async () => {
    hub = await startTestHub({ TASKHUB_MAX_STREAMS: '2' });
    const worker = await addAgent(hub, 'worker');
    const one = open(worker.token);
    const two = open(worker.token);
    await Promise.all([ready(one), ready(two)]);
    const third = await call(hub, worker.token, 'GET', '/api/events');
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('too_many_streams');
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    one.close();
    await expect.poll(async () => (await worker.get('/api/agents/worker')).body.agent.streams).toBe(1);
    const again = open(worker.token);
    await ready(again);
  });

  it('drops a stream whose reader stopped reading, without holding up other agents, and logs it', async () => {
    const log = memoryLogger('info');
    hub = await startTestHub({ TASKHUB_STREAM_BUFFER_BYTES: String(256 * 1024) }, undefined, log.logger);
    const admin = as(hub, hub.adminToken);
    const slow = await addAgent(hub, 'slow');
    const fast = await addAgent(hub, 'fast');
    const stuck = rawStream(hub.url, slow.token, { read: false });
    await expect.poll(async () => (await admin.get('/api/agents/slow')).body.agent.streams).toBe(1);
    const fastStream = open(fast.token);
    await ready(fastStream);

    const big = 'y'.repeat(200_000);
    for (let i = 0; i < 80; i++) {
      await admin.post('/api/tasks', { target: 'slow', task: `big ${i}`, payload: big });
      await admin.post('/api/tasks', { target: 'fast', task: `small ${i}` });
    }
    await fastStream.waitFor((e) => e.filter((x) => x.type === 'task.assigned').length === 80, 20_000);
    await expect.poll(async () => (await admin.get('/api/agents/slow')).body.agent.streams, { timeout: 10_000 }).toBe(0);
    expect(log.withMessage('slow reader dropped')).toMatchObject([{ subscriber: 'slow', reason: 'slow_reader', streams: 0 }]);
    stuck.close();
  });
});
