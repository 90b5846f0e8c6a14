import { afterEach, describe, expect, it } from 'vitest';
import { addAgent, as, type ApiResponse, type Client } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.stop();
  hub = undefined;
});

const broadcast = (from: Client, subject = 'news') => from.post('/api/messages', { to: 'ALL', subject, body: 'b' });
const lastEventId = async (h: TestHub) => (await as(h, h.adminToken).get('/api/stats')).body.events.lastId as number;

/** Parses `"name";r=1;t=2, "other";r=0;t=5` into `{name: {r: 1, t: 2}, …}`. */
function parseRateLimit(value: string | null): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const item of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, ...params] = item.split(';');
    out[JSON.parse(name!)] = Object.fromEntries(params.map((p) => p.split('=')).map(([k, v]) => [k, Number(v)]));
  }
  return out;
}

function expectLimited(res: ApiResponse) {
  expect(res.status).toBe(429);
  expect(res.body.error.code).toBe('rate_limited');
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  return retryAfter;
}

describe('rate limits', () => {
  it('stops a loop of broadcasts at the broadcast limit: 429, Retry-After, RateLimit fields, nothing stored', async () => {
    hub = await startTestHub({ TASKHUB_BROADCAST_LIMIT: '3' });
    const alice = await addAgent(hub, 'alice');
    const bob = await addAgent(hub, 'bob');
    await addAgent(hub, 'carol');
    const results: ApiResponse[] = [];
    for (let i = 0; i < 10; i++) results.push(await broadcast(alice, `b${i}`));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 429, 429, 429, 429, 429, 429, 429]);

    // Successes advertise the policies and what is left of them.
    const ok = results.slice(0, 3).map((r) => parseRateLimit(r.headers.get('ratelimit')));
    expect(ok.map((l) => l.broadcasts!.r)).toEqual([2, 1, 0]);
    // "sends" gets a unit back every 100 ms, so on a slow machine it may not go down by one each time.
    for (const l of ok) expect(l.sends!.r).toBeGreaterThanOrEqual(597);
    expect(results[0]!.headers.get('ratelimit-policy')).toBe('"sends";q=600;w=60, "broadcasts";q=3;w=60');

    const refused = results[3]!;
    const retryAfter = expectLimited(refused);
    expect(retryAfter).toBeLessThanOrEqual(20); // a broadcast comes back every 60/3 s
    expect(refused.body.error.message).toMatch(/3 broadcasts per minute/);
    expect(refused.headers.get('ratelimit-policy')).toBe('"sends";q=600;w=60, "broadcasts";q=3;w=60');
    const limits = parseRateLimit(refused.headers.get('ratelimit'));
    expect(limits.broadcasts).toEqual({ r: 0, t: retryAfter });
    expect(limits.sends!.r).toBeGreaterThanOrEqual(597);

    const before = await lastEventId(hub);
    expectLimited(await broadcast(alice, 'one more'));
    expect(await lastEventId(hub)).toBe(before);
    const inbox = await bob.get('/api/inbox?limit=200');
    expect(inbox.body.messages.map((m: any) => m.subject)).toEqual(['b0', 'b1', 'b2']);
    // Messages to a list are not broadcasts: alice can still write to bob.
    expect((await alice.post('/api/messages', { to: ['bob', 'carol'], subject: 's', body: 'b' })).status).toBe(201);
  });

  it('counts task creation and messages in one limit per sender', async () => {
    hub = await startTestHub({ TASKHUB_RATE_LIMIT: '4' });
    const alice = await addAgent(hub, 'alice');
    const bob = await addAgent(hub, 'bob');
    expect((await alice.post('/api/tasks', { target: 'bob', task: 't1' })).status).toBe(201);
    expect((await alice.post('/api/messages', { to: 'bob', subject: 'm1', body: '' })).status).toBe(201);
    expect((await alice.post('/api/tasks', { target: 'bob', task: 't2' })).status).toBe(201);
    const fourth = await alice.post('/api/messages', { to: 'bob', subject: 'm2', body: '' });
    const status = parseRateLimit(fourth.headers.get('ratelimit')).sends!;
    expect(status.r).toBe(0);
    expect(status.t).toBeGreaterThan(0);
    expect(status.t).toBeLessThanOrEqual(15); // a unit comes back every 60/4 s

    const before = await lastEventId(hub);
    const task = await alice.post('/api/tasks', { target: 'bob', task: 't3' });
    expect(expectLimited(task)).toBeLessThanOrEqual(15);
    expect(task.headers.get('ratelimit-policy')).toBe('"sends";q=4;w=60');
    expectLimited(await alice.post('/api/messages', { to: 'bob', subject: 'm3', body: '' }));
    expectLimited(await broadcast(alice));
    expect(await lastEventId(hub)).toBe(before);
    expect((await bob.get('/api/tasks/pending')).body.tasks.map((t: any) => t.task)).toEqual(['t1', 't2']);
    expect((await bob.get('/api/inbox')).body.messages.map((m: any) => m.subject)).toEqual(['m1', 'm2']);

    // The limit is per sender: bob is unaffected, and an idempotent repeat creates nothing so costs nothing.
    expect((await bob.post('/api/tasks', { target: 'alice', task: 'x', idempotencyKey: 'k' })).status).toBe(201);
    for (let i = 0; i < 5; i++) {
      expect((await bob.post('/api/tasks', { target: 'alice', task: 'x', idempotencyKey: 'k' })).status).toBe(200);
    }
    expect((await bob.post('/api/messages', { to: 'alice', subject: 's', body: '' })).status).toBe(201);
  });

  it('exempts admins from both limits', async () => {
    hub = await startTestHub({ TASKHUB_RATE_LIMIT: '2', TASKHUB_BROADCAST_LIMIT: '1' });
    await addAgent(hub, 'alice');
    const admin = as(hub, hub.adminToken);
    for (let i = 0; i < 5; i++) {
      const sent = await broadcast(admin, `a${i}`);
      expect(sent.status).toBe(201);
      expect(sent.headers.get('ratelimit')).toBeNull();
      expect((await admin.post('/api/tasks', { target: 'alice', task: `t${i}` })).status).toBe(201);
    }
  });

  it('turns each limit off with 0', async () => {
    hub = await startTestHub({ TASKHUB_RATE_LIMIT: '0', TASKHUB_BROADCAST_LIMIT: '0' });
    const alice = await addAgent(hub, 'alice');
    await addAgent(hub, 'bob');
    for (let i = 0; i < 30; i++) {
      const sent = await broadcast(alice);
      expect(sent.status).toBe(201);
      expect(sent.headers.get('ratelimit')).toBeNull();
    }
  });

  it('keeps serving other agents while one floods the hub with broadcasts', async () => {
    hub = await startTestHub({ TASKHUB_BROADCAST_LIMIT: '3' });
    const h = hub;
    const storm = await addAgent(h, 'storm');
    const worker = await addAgent(h, 'worker');
    const caller = await addAgent(h, 'caller');
    for (let i = 0; i < 20; i++) await addAgent(h, `listener-${i}`);

    let stop = false;
    const stormStatuses: number[] = [];
    const flood = async () => {
      while (!stop) {
        const batch = await Promise.all(Array.from({ length: 10 }, () => broadcast(storm, 'spam')));
        stormStatuses.push(...batch.map((r) => r.status));
      }
    };
    const startedAt = Date.now();
    const floods = [flood(), flood()];

    // Meanwhile another pair of agents does a full round of work, each step answered as usual.
    const steps: number[] = [];
    for (let i = 0; i < 15; i++) {
      const created = await caller.post('/api/tasks', { target: 'worker', task: `job ${i}` });
      steps.push(created.status);
      const id = created.body.task.id;
      steps.push((await worker.post(`/api/tasks/${id}/claim`)).status);
      steps.push((await worker.post(`/api/tasks/${id}/complete`, { result: i })).status);
      steps.push((await worker.post('/api/messages', { to: 'caller', subject: `done ${i}`, body: '' })).status);
      steps.push((await caller.get('/api/inbox?unread=true&markRead=true')).status);
    }
    stop = true;
    await Promise.all(floods);
    // A broadcast comes back every 20 s: on a slow machine the storm may earn one more per 20 s it ran.
    const allowed = 3 + Math.floor((Date.now() - startedAt) / 20_000);

    expect(steps.filter((s) => s >= 400)).toEqual([]);
    const accepted = stormStatuses.filter((s) => s === 201).length;
    expect(accepted).toBeGreaterThanOrEqual(3);
    expect(accepted).toBeLessThanOrEqual(allowed);
    expect(stormStatuses.filter((s) => s !== 201 && s !== 429)).toEqual([]);
    expect(stormStatuses.length).toBeGreaterThan(accepted);
    // What was accepted reached everyone else once; what was refused reached no one.
    for (const reader of [worker, caller]) {
      const inbox = (await reader.get('/api/inbox?limit=200')).body.messages;
      expect(inbox.filter((m: any) => m.from === 'storm')).toHaveLength(accepted);
    }
  });
});
