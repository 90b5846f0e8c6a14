import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, as, call, type Client } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { openStream } from '../helpers/stream.js';

let hub: TestHub;
let boss: Client & { name: string };
let worker: Client & { name: string };

beforeEach(async () => {
  hub = await startTestHub({ TASKHUB_RPC_POLL_MS: '50' });
  boss = await addAgent(hub, 'boss');
  worker = await addAgent(hub, 'worker', { capabilities: ['add'] });
});
afterEach(async () => {
  await hub.stop();
});

/** Starts an RPC without awaiting its answer. */
const rpc = (client: Client, body: Record<string, unknown>, signal?: AbortSignal) =>
  fetch(`${hub.url}/api/tasks/rpc`, {
    method: 'POST',
    headers: { authorization: `Bearer ${client.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal && { signal }),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as any, headers: res.headers }));

/** The worker's oldest pending task once one has arrived. */
async function nextPending(client: Client = worker): Promise<any> {
  let task: any;
  await expect.poll(async () => (task = (await client.get('/api/tasks/pending')).body.tasks[0]), { timeout: 10_000 })
    .toBeDefined();
  return task;
}

const waiting = async () => (await as(hub, hub.adminToken).get('/api/stats')).body.rpc.waiting;

describe('POST /api/tasks/rpc', () => {
  it('creates an rpc task and answers completed with the result when the target completes it', async () => {
    const answer = rpc(boss, { capability: 'add', task: 'add', payload: { a: 1, b: 2 }, priority: 'high' });
    const task = await nextPending();
    expect(task).toMatchObject({ kind: 'rpc', assigner: 'boss', target: 'worker', priority: 'high', status: 'assigned' });
    expect(await waiting()).toBe(1);
    expect(hub.rpc.counts()).toEqual({ waiters: 1, timers: 1, polling: true });

    expect((await worker.post(`/api/tasks/${task.id}/complete`, { result: { sum: 3 } })).status).toBe(200);
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ taskId: task.id, status: 'completed', result: { sum: 3 } });
    expect(await waiting()).toBe(0);
    expect(hub.rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
  });

  it('answers failed with the error', async () => {
    const answer = rpc(boss, { target: 'worker', task: 'divide by zero' });
    const task = await nextPending();
    await worker.post(`/api/tasks/${task.id}/claim`, {});
    await worker.post(`/api/tasks/${task.id}/fail`, { error: 'cannot divide by zero' });
    expect((await answer).body).toEqual({ taskId: task.id, status: 'failed', error: 'cannot divide by zero' });
  });

  it('answers cancelled when the task is cancelled from another request', async () => {
    const answer = rpc(boss, { target: 'worker', task: 'never mind' });
    const task = await nextPending();
    expect((await as(hub, hub.adminToken).post(`/api/tasks/${task.id}/cancel`)).status).toBe(200);
    expect((await answer).body).toEqual({ taskId: task.id, status: 'cancelled' });
  });

  it('answers expired when the task passes its deadline', async () => {
    const deadline = new Date(Date.now() + 1000).toISOString();
    const answer = rpc(boss, { target: 'worker', task: 'too slow', deadline });
    const task = await nextPending();
    expect((await answer).body).toEqual({ taskId: task.id, status: 'expired' });
    expect((await boss.get(`/api/tasks/${task.id}`)).body.task.status).toBe('expired');
  });

  it('on timeout cancels the task and tells the target; keepOnTimeout leaves it; timeouts below 5 s wait 5 s', async () => {
    const stream = openStream(hub.url, worker.token);
    await stream.waitFor((e) => e.some((x) => x.type === 'ready'));
    const started = Date.now();
    const [cancelled, kept, clamped] = [
      rpc(boss, { target: 'worker', task: 'ignored', timeout: 5 }),
      rpc(boss, { target: 'worker', task: 'kept', timeout: 5, keepOnTimeout: true }),
      rpc(boss, { target: 'worker', task: 'late but in time', timeout: 1 }),
    ];
    await expect.poll(() => hub.rpc.size()).toBe(3);
    const tasks = (await worker.get('/api/tasks/pending')).body.tasks as any[];
    const byText = Object.fromEntries(tasks.map((t) => [t.task, t]));
    // Answered after the unclamped 1 s would have passed, yet well before the clamped 5 s.
    await new Promise((resolve) => setTimeout(resolve, 2000 - (Date.now() - started)));
    await worker.post(`/api/tasks/${byText['late but in time'].id}/complete`, { result: 'ok' });
    expect((await clamped).body).toEqual({ taskId: byText['late but in time'].id, status: 'completed', result: 'ok' });

    expect((await cancelled).body).toEqual({ taskId: byText.ignored.id, status: 'timeout' });
    expect((await kept).body).toEqual({ taskId: byText.kept.id, status: 'timeout' });
    expect((await boss.get(`/api/tasks/${byText.ignored.id}`)).body.task.status).toBe('cancelled');
    expect((await boss.get(`/api/tasks/${byText.kept.id}`)).body.task.status).toBe('assigned');
    await stream.waitFor((e) => e.some((x) => x.type === 'task.cancelled' && x.data.taskId === byText.ignored.id));
    expect(stream.events().filter((x) => x.type === 'task.cancelled')).toHaveLength(1);
    stream.close();
    expect(hub.rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
  }, 40_000);

  it('frees the waiter at once when the caller goes away, and leaves the task to be done', async () => {
    const gone = new AbortController();
    const answer = rpc(boss, { target: 'worker', task: 'nobody will read this' }, gone.signal);
    const task = await nextPending();
    expect(hub.rpc.size()).toBe(1);
    gone.abort();
    await expect(answer).rejects.toThrow();
    await expect.poll(() => hub.rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
    expect((await boss.get(`/api/tasks/${task.id}`)).body.task.status).toBe('assigned');
    expect((await worker.post(`/api/tasks/${task.id}/complete`, { result: 1 })).status).toBe(200);
  });

  it('refuses bad input with 400 and unroutable work with 422, creating nothing and holding nothing', async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ task: 'no address' }, 400, 'validation_failed'],
      [{ target: 'worker', task: 'x', timeout: '10' }, 400, 'validation_failed'],
      [{ target: 'worker', task: 'x', keepOnTimeout: 'yes' }, 400, 'validation_failed'],
      [{ target: 'worker', task: 'x', idempotencyKey: '' }, 400, 'validation_failed'],
      [{ target: 'worker', task: 'x', deadline: '2001-01-01T00:00:00.000Z' }, 400, 'validation_failed'],
      [{ capability: 'fly', task: 'x' }, 422, 'no_agent_for_capability'],
      [{ target: 'worker', capability: 'fly', task: 'x' }, 422, 'capability_not_offered'],
    ];
    for (const [body, status, code] of cases) {
      const res = await rpc(boss, body);
      expect([res.status, res.body.error.code], JSON.stringify(body)).toEqual([status, code]);
    }
    expect((await call(hub, undefined, 'POST', '/api/tasks/rpc', { target: 'worker', task: 'x' })).status).toBe(401);
    expect((await boss.get('/api/tasks')).body.tasks).toEqual([]);
    expect(hub.rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
  });

  it('a call re-sent with its idempotency key waits for the same task, and both waiters get the outcome', async () => {
    const first = rpc(boss, { target: 'worker', task: 'once', idempotencyKey: 'call-1' });
    const task = await nextPending();
    const again = rpc(boss, { target: 'worker', task: 'once', idempotencyKey: 'call-1' });
    await expect.poll(() => hub.rpc.counts().waiters).toBe(2);
    expect((await worker.get('/api/tasks/pending')).body.tasks).toHaveLength(1);
    await worker.post(`/api/tasks/${task.id}/complete`, { result: 'done' });
    const expected = { taskId: task.id, status: 'completed', result: 'done' };
    expect((await first).body).toEqual(expected);
    expect((await again).body).toEqual(expected);
    // Once the task is terminal, the same call is answered at once, holding nothing.
    expect((await rpc(boss, { target: 'worker', task: 'once', idempotencyKey: 'call-1' })).body).toEqual(expected);
    expect(hub.rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
    expect((await boss.get('/api/tasks')).body.tasks).toHaveLength(1);
  });

  it('a caller that lost its connection gets the answer by re-sending the call', async () => {
    const lost = new AbortController();
    const dropped = rpc(boss, { target: 'worker', task: 'survive a blip', idempotencyKey: 'call-2' }, lost.signal);
    const task = await nextPending();
    lost.abort();
    await expect(dropped).rejects.toThrow();
    await expect.poll(() => hub.rpc.counts().waiters).toBe(0);
    const resent = rpc(boss, { target: 'worker', task: 'survive a blip', idempotencyKey: 'call-2' });
    await expect.poll(() => hub.rpc.counts().waiters).toBe(1);
    await worker.post(`/api/tasks/${task.id}/complete`, { result: 42 });
    expect((await resent).body).toEqual({ taskId: task.id, status: 'completed', result: 42 });
  });

  it('works for an admin caller too', async () => {
    const answer = rpc(as(hub, hub.adminToken), { target: 'worker', task: 'for the operator' });
    const task = await nextPending();
    expect(task.assigner).toBe('admin');
    await worker.post(`/api/tasks/${task.id}/complete`, {});
    expect((await answer).body).toEqual({ taskId: task.id, status: 'completed', result: null });
    // Counted as a request, but kept out of the latency histogram: its time is the agent's.
    const metrics = (await call(hub, undefined, 'GET', '/metrics')).body as string;
    expect(metrics).toContain('taskhub_http_requests_total{method="POST",route="/api/tasks/rpc",status="200"} 1');
    expect(metrics).not.toMatch(/taskhub_http_request_duration_seconds_count\{[^}]*route="\/api\/tasks\/rpc"/);
  });
});

describe('waiter limit', () => {
  it('answers 503 overloaded over TASKHUB_RPC_MAX_WAITERS and creates nothing', async () => {
    await hub.stop();
    hub = await startTestHub({ TASKHUB_RPC_MAX_WAITERS: '2', TASKHUB_RPC_POLL_MS: '50' });
    boss = await addAgent(hub, 'boss');
    worker = await addAgent(hub, 'worker');
    const first = rpc(boss, { target: 'worker', task: 'one' });
    const second = rpc(boss, { target: 'worker', task: 'two' });
    await expect.poll(() => hub.rpc.size()).toBe(2);
    const refused = await rpc(boss, { target: 'worker', task: 'three' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('overloaded');
    expect(refused.headers.get('retry-after')).toBe('1');
    const tasks = (await worker.get('/api/tasks/pending')).body.tasks as any[];
    expect(tasks.map((t) => t.task).sort()).toEqual(['one', 'two']);

    for (const t of tasks) await worker.post(`/api/tasks/${t.id}/complete`, {});
    await Promise.all([first, second]);
    const third = rpc(boss, { target: 'worker', task: 'three' });
    const task = await nextPending();
    await worker.post(`/api/tasks/${task.id}/complete`, {});
    expect((await third).status).toBe(200);
  });
});
