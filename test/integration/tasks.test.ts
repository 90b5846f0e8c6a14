import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, as, call, type Client } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
let boss: Client & { name: string };
let worker: Client & { name: string };
let stranger: Client & { name: string };

beforeEach(async () => {
  hub = await startTestHub({ TASKHUB_MAX_ATTEMPTS: '3' });
  boss = await addAgent(hub, 'boss');
  worker = await addAgent(hub, 'worker', { capabilities: ['summarize'] });
  stranger = await addAgent(hub, 'stranger');
});
afterEach(async () => {
  await hub.stop();
});

const assign = async (body: Record<string, unknown> = {}) => {
  const res = await boss.post('/api/tasks', { target: 'worker', task: 'do it', ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.task as { id: string; [k: string]: any };
};

describe('creating tasks', () => {
  it('creates a task in status assigned with every field of the contract', async () => {
    const deadline = new Date(Date.now() + 60_000).toISOString();
    const task = await assign({ payload: { n: 1 }, priority: 'high', deadline, capability: 'summarize' });
    expect(task).toMatchObject({
      kind: 'task',
      task: 'do it',
      payload: { n: 1 },
      capability: 'summarize',
      priority: 'high',
      status: 'assigned',
      assigner: 'boss',
      target: 'worker',
      deadline,
      result: null,
      error: null,
      attempts: 0,
      leaseExpiresAt: null,
      claimedAt: null,
      completedAt: null,
    });
    expect(task.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(task.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect((await worker.get(`/api/tasks/${task.id}`)).body.task).toEqual(task);
  });

  it('returns the first task with 200 for a repeated idempotency key from the same assigner', async () => {
    const first = await boss.post('/api/tasks', { target: 'worker', task: 'once', idempotencyKey: 'k1' });
    const again = await boss.post('/api/tasks', { target: 'worker', task: 'once', idempotencyKey: 'k1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.task.id).toBe(first.body.task.id);
    const other = await stranger.post('/api/tasks', { target: 'worker', task: 'once', idempotencyKey: 'k1' });
    expect(other.status).toBe(201);
    expect(other.body.task.id).not.toBe(first.body.task.id);
    expect((await worker.get('/api/tasks/pending')).body.tasks).toHaveLength(2);
  });

  it('refuses a target that lacks the capability, and unknown targets, creating nothing', async () => {
    const lacking = await boss.post('/api/tasks', { target: 'stranger', capability: 'summarize', task: 'x' });
    expect(lacking.status).toBe(422);
    expect(lacking.body.error.code).toBe('capability_not_offered');
    const unknown = await boss.post('/api/tasks', { target: 'ghost', task: 'x' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe('unknown_agent');
    const none = await boss.post('/api/tasks', { capability: 'juggle', task: 'x' });
    expect(none.status).toBe(422);
    expect(none.body.error.code).toBe('no_agent_for_capability');
    expect((await call(hub, hub.adminToken, 'GET', '/api/tasks')).body.tasks).toEqual([]);
  });

  it('rejects bad bodies with validation_failed naming each field, creating nothing', async () => {
    const cases: [unknown, string[]][] = [
      [{ task: 'x' }, ['body.target']],
      [{ target: 'worker' }, ['body.task']],
      [{ target: 'worker', task: 42 }, ['body.task']],
      [{ target: 'worker', task: 'x', priority: 'asap' }, ['body.priority']],
      [{ target: 'worker', task: 'x', deadline: 'tomorrow' }, ['body.deadline']],
      [{ target: 'worker', task: 'x', deadline: '2001-01-01T00:00:00.000Z' }, ['body.deadline']],
      [{ target: 'worker', task: 'x', colour: 'red' }, ['body']],
      [{ target: 'Not A Name', task: 'x' }, ['body.target']],
      [[1, 2], ['body']],
      ['"just a string"', ['body']],
    ];
    for (const [body, paths] of cases) {
      const res = await boss.post('/api/tasks', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.map((d: any) => d.path)).toEqual(paths);
    }
    expect((await call(hub, hub.adminToken, 'GET', '/api/tasks')).body.tasks).toEqual([]);
  });
});

describe('capability routing', () => {
  it('prefers connected agents, then fewest open tasks, then least recently assigned', async () => {
    const admin = as(hub, hub.adminToken);
    await admin.patch('/api/agents/boss', { capabilities: ['cook'] });
    await admin.patch('/api/agents/stranger', { capabilities: ['cook'] });
    const pick = async () => (await boss.post('/api/tasks', { capability: 'cook', task: 't' })).body.task.target;
    // Neither has open tasks or was ever assigned: by name.
    expect(await pick()).toBe('boss');
    // boss now has one open task, stranger none.
    expect(await pick()).toBe('stranger');
    // One each: the least recently assigned (boss) wins.
    expect(await pick()).toBe('boss');
    expect(await pick()).toBe('stranger');
  });

  it('routes to a connected agent before an idle disconnected one', async () => {
    const { openStream } = await import('../helpers/stream.js');
    await as(hub, hub.adminToken).patch('/api/agents/stranger', { capabilities: ['summarize'] });
    await assign();
    await assign();
    const stream = openStream(hub.url, worker.token);
    await stream.waitFor((e) => e.some((x) => x.type === 'ready'));
    // worker has two open tasks, stranger none, but only worker is connected.
    const res = await boss.post('/api/tasks', { capability: 'summarize', task: 't' });
    expect(res.body.task.target).toBe('worker');
    stream.close();
  });
});

describe('reading tasks', () => {
  it('lists the caller\'s tasks newest first, by role and status, with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await assign({ task: `t${i}` })).id);
    const mine = await stranger.post('/api/tasks', { target: 'boss', task: 'for boss' });
    await worker.post(`/api/tasks/${ids[0]}/claim`);

    const page1 = await boss.get('/api/tasks?limit=2');
    expect(page1.body.tasks.map((t: any) => t.id)).toEqual([mine.body.task.id, ids[4]]);
    const page2 = await boss.get(`/api/tasks?limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body.tasks.map((t: any) => t.id)).toEqual([ids[3], ids[2]]);
    const page3 = await boss.get(`/api/tasks?limit=2&cursor=${page2.body.nextCursor}`);
    expect(page3.body.tasks.map((t: any) => t.id)).toEqual([ids[1], ids[0]]);
    expect(page3.body.nextCursor).toBeNull();

    expect((await boss.get('/api/tasks?role=target')).body.tasks.map((t: any) => t.id)).toEqual([mine.body.task.id]);
    expect((await boss.get('/api/tasks?role=assigner')).body.tasks).toHaveLength(5);
    expect((await boss.get('/api/tasks?status=claimed')).body.tasks.map((t: any) => t.id)).toEqual([ids[0]]);
    expect((await stranger.get('/api/tasks')).body.tasks).toHaveLength(1);
    expect((await call(hub, hub.adminToken, 'GET', '/api/tasks?limit=200')).body.tasks).toHaveLength(6);
    expect((await call(hub, hub.adminToken, 'GET', '/api/tasks?agent=stranger')).body.tasks).toHaveLength(1);
  });

  it('rejects bad list queries', async () => {
    for (const query of ['limit=0', 'limit=201', 'limit=x', 'role=boss', 'status=done', 'cursor=%%%', 'colour=red']) {
      const res = await boss.get(`/api/tasks?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
  });

  it('gives pending tasks urgent first, then oldest first', async () => {
    const low = await assign({ priority: 'low' });
    const normal1 = await assign();
    const urgent = await assign({ priority: 'urgent' });
    const normal2 = await assign({ priority: 'normal' });
    const high = await assign({ priority: 'high' });
    const claimed = await assign({ priority: 'urgent' });
    await worker.post(`/api/tasks/${claimed.id}/claim`);
    const res = await worker.get('/api/tasks/pending');
    expect(res.body.tasks.map((t: any) => t.id)).toEqual([urgent.id, high.id, normal1.id, normal2.id, low.id]);
    expect((await call(hub, hub.adminToken, 'GET', '/api/tasks/pending')).status).toBe(403);
  });

  it('hides a task from agents who are neither assigner nor target with 404', async () => {
    const task = await assign();
    for (const route of [`/api/tasks/${task.id}`, `/api/tasks/${task.id}/events`]) {
      const res = await stranger.get(route);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    for (const action of ['claim', 'progress', 'complete', 'cancel']) {
      expect((await stranger.post(`/api/tasks/${task.id}/${action}`)).status).toBe(404);
    }
    expect((await stranger.post(`/api/tasks/${task.id}/fail`, { error: 'x' })).status).toBe(404);
    expect((await boss.get(`/api/tasks/${task.id}`)).body.task).toEqual(task);
    expect((await call(hub, hub.adminToken, 'GET', `/api/tasks/${task.id}`)).status).toBe(200);
    expect((await boss.get('/api/tasks/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('the lifecycle', () => {
  it('goes assigned → claimed → in_progress → completed, recording every step', async () => {
    const task = await assign();
    const claimed = await worker.post(`/api/tasks/${task.id}/claim`, { leaseSeconds: 60 });
    expect(claimed.body.task).toMatchObject({ status: 'claimed' });
    expect(Date.parse(claimed.body.task.leaseExpiresAt) - Date.parse(claimed.body.task.claimedAt)).toBe(60_000);
    const progressed = await worker.post(`/api/tasks/${task.id}/progress`, { message: 'half', progress: 0.5 });
    expect(progressed.body.task.status).toBe('in_progress');
    const again = await worker.post(`/api/tasks/${task.id}/progress`, { progress: 0.9 });
    expect(again.body.task.status).toBe('in_progress');
    const done = await worker.post(`/api/tasks/${task.id}/complete`, { result: { summary: 'ok' } });
    expect(done.body.task).toMatchObject({ status: 'completed', result: { summary: 'ok' }, leaseExpiresAt: null });
    expect(done.body.task.completedAt).not.toBeNull();

    const events = (await boss.get(`/api/tasks/${task.id}/events`)).body.events;
    expect(events.map((e: any) => e.type)).toEqual([
      'task.assigned',
      'task.claimed',
      'task.progress',
      'task.progress',
      'task.completed',
    ]);
    expect(events[2].progress).toEqual({ message: 'half', progress: 0.5 });
    expect(events.every((e: any, i: number) => i === 0 || e.id > events[i - 1].id)).toBe(true);
    expect(events[4].task.status).toBe('completed');
  });

  it('allows complete and fail straight from assigned', async () => {
    const a = await assign();
    expect((await worker.post(`/api/tasks/${a.id}/complete`)).body.task).toMatchObject({ status: 'completed', result: null });
    const b = await assign();
    expect((await worker.post(`/api/tasks/${b.id}/fail`, { error: 'no' })).body.task).toMatchObject({
      status: 'failed',
      error: 'no',
    });
  });

  it('answers 409 invalid_transition for a forbidden step and changes nothing', async () => {
    const task = await assign();
    expect((await worker.post(`/api/tasks/${task.id}/progress`)).status).toBe(409);
    await worker.post(`/api/tasks/${task.id}/claim`);
    const twice = await worker.post(`/api/tasks/${task.id}/claim`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('invalid_transition');
    await worker.post(`/api/tasks/${task.id}/complete`, { result: 1 });
    for (const [action, body] of [['claim', {}], ['progress', {}], ['complete', { result: 2 }], ['fail', { error: 'e' }]] as const) {
      expect((await worker.post(`/api/tasks/${task.id}/${action}`, body)).status).toBe(409);
    }
    expect((await boss.post(`/api/tasks/${task.id}/cancel`)).status).toBe(409);
    const after = (await boss.get(`/api/tasks/${task.id}`)).body.task;
    expect(after).toMatchObject({ status: 'completed', result: 1 });
    expect((await boss.get(`/api/tasks/${task.id}/events`)).body.events).toHaveLength(3);
  });

  it('answers 403 to the assigner on target routes and to the target on cancel', async () => {
    const task = await assign();
    for (const action of ['claim', 'progress', 'complete']) {
      const res = await boss.post(`/api/tasks/${task.id}/${action}`);
      expect(res.status, action).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect((await boss.post(`/api/tasks/${task.id}/fail`, { error: 'x' })).status).toBe(403);
    expect((await worker.post(`/api/tasks/${task.id}/cancel`)).status).toBe(403);
    expect((await call(hub, hub.adminToken, 'POST', `/api/tasks/${task.id}/claim`, {})).status).toBe(403);
    // The guarded UPDATE runs before the caller is checked: a refusal must leave no trace of it.
    const after = (await boss.get(`/api/tasks/${task.id}`)).body.task;
    expect(after).toEqual(task);
    expect((await boss.get(`/api/tasks/${task.id}/events`)).body.events.map((e: { type: string }) => e.type)).toEqual(['task.assigned']);
  });

  it('lets the assigner or an admin cancel an open task', async () => {
    const a = await assign();
    expect((await boss.post(`/api/tasks/${a.id}/cancel`)).body.task.status).toBe('cancelled');
    const b = await assign();
    await worker.post(`/api/tasks/${b.id}/claim`);
    expect((await call(hub, hub.adminToken, 'POST', `/api/tasks/${b.id}/cancel`, {})).body.task.status).toBe('cancelled');
  });

  it('fail with retry hands the task out again until the deliveries run out', async () => {
    const task = await assign();
    await worker.post(`/api/tasks/${task.id}/claim`);
    const first = await worker.post(`/api/tasks/${task.id}/fail`, { error: 'flaky', retry: true });
    expect(first.body.task).toMatchObject({ status: 'assigned', attempts: 1, error: 'flaky', claimedAt: null });
    expect((await worker.get('/api/tasks/pending')).body.tasks.map((t: any) => t.id)).toEqual([task.id]);
    const second = await worker.post(`/api/tasks/${task.id}/fail`, { error: 'flaky', retry: true });
    expect(second.body.task).toMatchObject({ status: 'assigned', attempts: 2 });
    const last = await worker.post(`/api/tasks/${task.id}/fail`, { error: 'gave up', retry: true });
    expect(last.body.task).toMatchObject({ status: 'failed', attempts: 2, error: 'gave up' });
    const types = (await boss.get(`/api/tasks/${task.id}/events`)).body.events.map((e: any) => e.type);
    expect(types).toEqual(['task.assigned', 'task.claimed', 'task.assigned', 'task.assigned', 'task.failed']);
  });

  it('validates transition bodies', async () => {
    const task = await assign();
    const cases: [string, unknown][] = [
      ['claim', { leaseSeconds: 0 }],
      ['claim', { leaseSeconds: 'long' }],
      ['progress', { progress: 1.5 }],
      ['progress', { message: 7 }],
      ['fail', {}],
      ['fail', { error: '' }],
      ['fail', { error: 'x', retry: 'yes' }],
      ['complete', { result: 1, extra: true }],
      ['cancel', { reason: 'x' }],
    ];
    for (const [action, body] of cases) {
      const who = action === 'cancel' ? boss : worker;
      const res = await who.post(`/api/tasks/${task.id}/${action}`, body);
      expect(res.status, `${action} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    expect((await boss.get(`/api/tasks/${task.id}`)).body.task.status).toBe('assigned');
  });
});
