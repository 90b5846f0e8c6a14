import { afterEach, describe, expect, it } from 'vitest';
import { addAgent, as, type Client } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
let boss: Client & { name: string };
let worker: Client & { name: string };

async function start(env: Record<string, string> = {}) {
  hub = await startTestHub({ TASKHUB_RPC_POLL_MS: '50', ...env });
  boss = await addAgent(hub, 'boss');
  worker = await addAgent(hub, 'worker', { capabilities: ['add'] });
}
afterEach(async () => {
  await hub.stop();
});

/** Sends `POST /api/tasks/rpcs` and reads its answer line by line as the lines come. */
async function rpcs(client: Client, body: unknown, signal?: AbortSignal) {
  const res = await fetch(`${hub.url}/api/tasks/rpcs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${client.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal && { signal }),
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  /** The next line, or `undefined` once the answer has ended. */
  const next = async (): Promise<any> => {
    for (;;) {
      const end = buffer.indexOf('\n');
      if (end !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        return JSON.parse(line);
      }
      const { value, done } = await reader.read();
      if (done) return buffer === '' ? undefined : JSON.parse(buffer);
      buffer += value;
    }
  };
  return { status: res.status, type: res.headers.get('content-type'), next, cancel: () => reader.cancel() };
}

async function pendingTasks(count: number): Promise<any[]> {
  let tasks: any[] = [];
  await expect.poll(async () => (tasks = (await worker.get('/api/tasks/pending')).body.tasks).length, { timeout: 10_000 })
    .toBe(count);
  return tasks;
}

const idle = { waiters: 0, timers: 0, polling: false };

describe('POST /api/tasks/rpcs', () => {
  it('answers each call with its own line as it ends, a refused one at once, and ends after the last', async () => {
    await start();
    const answer = await rpcs(boss, {
      calls: [
        { target: 'worker', task: 'first', payload: { n: 1 } },
        { target: 'nobody', task: 'refused' },
        { capability: 'add', task: 'second', payload: { n: 2 }, priority: 'high' },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('application/x-ndjson; charset=utf-8');
    expect(await answer.next()).toMatchObject({ index: 1, status: 422, error: { code: 'unknown_agent' } });

    const tasks = await pendingTasks(2);
    const byTask = Object.fromEntries(tasks.map((t) => [t.task, t]));
    expect(byTask.second).toMatchObject({ kind: 'rpc', assigner: 'boss', priority: 'high', payload: { n: 2 } });
    expect(hub.rpc.counts()).toEqual({ waiters: 2, timers: 2, polling: true });

    // The second call ends first, and its line comes while the first call still waits.
    await worker.post(`/api/tasks/${byTask.second.id}/complete`, { result: { got: 2 } });
    expect(await answer.next()).toEqual({ index: 2, status: 200, answer: { taskId: byTask.second.id, status: 'completed', result: { got: 2 } } });
    expect(hub.rpc.size()).toBe(1);

    await worker.post(`/api/tasks/${byTask.first.id}/claim`, {});
    await worker.post(`/api/tasks/${byTask.first.id}/fail`, { error: 'no' });
    expect(await answer.next()).toEqual({ index: 0, status: 200, answer: { taskId: byTask.first.id, status: 'failed', error: 'no' } });
    expect(await answer.next()).toBeUndefined();
    expect(hub.rpc.counts()).toEqual(idle);
  });

  it('refuses a malformed body as a whole with 400 naming the call, creating nothing', async () => {
    await start();
    const cases: [unknown, string][] = [
      [{ calls: [] }, 'body.calls'],
      [{ calls: Array.from({ length: 101 }, () => ({ target: 'worker', task: 'x' })) }, 'body.calls'],
      [{ calls: [{ target: 'worker', task: 'fine' }, { target: 'worker' }] }, 'body.calls.1.task'],
      [{ calls: [{ target: 'worker', task: 'x', timeout: '10' }] }, 'body.calls.0.timeout'],
      [{ calls: [{ target: 'worker', task: 'x' }], extra: 1 }, 'body'],
    ];
    for (const [body, path] of cases) {
      const res = await fetch(`${hub.url}/api/tasks/rpcs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${boss.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await res.json()) as any;
      expect([res.status, answer.error.code], path).toEqual([400, 'validation_failed']);
      expect(answer.error.details.map((d: { path: string }) => d.path), path).toContain(path);
    }
    const unauthenticated = await fetch(`${hub.url}/api/tasks/rpcs`, { method: 'POST', body: JSON.stringify({ calls: [{ target: 'worker', task: 'x' }] }) });
    expect(unauthenticated.status).toBe(401);
    expect((await boss.get('/api/tasks')).body.tasks).toEqual([]);
    expect(hub.rpc.counts()).toEqual(idle);
  });

  it('a caller that goes away frees every waiter of its request and leaves the tasks to be done', async () => {
    await start();
    const gone = new AbortController();
    const answer = await rpcs(boss, { calls: [{ target: 'worker', task: 'a' }, { target: 'worker', task: 'b' }] }, gone.signal);
    const tasks = await pendingTasks(2);
    expect(hub.rpc.size()).toBe(2);
    gone.abort();
    await expect(answer.next()).rejects.toThrow();
    await expect.poll(() => hub.rpc.counts()).toEqual(idle);
    for (const task of tasks) expect((await worker.post(`/api/tasks/${task.id}/complete`, { result: 1 })).status).toBe(200);
  });

  it('calls with one idempotency key wait for the one task, and each call spends the caller\'s rate limit', async () => {
    await start({ TASKHUB_RATE_LIMIT: '3' });
    const answer = await rpcs(boss, {
      calls: [
        { target: 'worker', task: 'once', idempotencyKey: 'k' },
        { target: 'worker', task: 'once', idempotencyKey: 'k' },
        { target: 'worker', task: 'other' },
        { target: 'worker', task: 'another' },
        { target: 'worker', task: 'over the limit' },
      ],
    });
    // The calls' changes run in the order sent. The repeated key created nothing and spent nothing, so the limit
    // of three refuses the fifth call only.
    expect(await answer.next()).toMatchObject({ index: 4, status: 429, error: { code: 'rate_limited' } });
    const tasks = await pendingTasks(3);
    expect(tasks.map((t) => t.task).sort()).toEqual(['another', 'once', 'other']);
    for (const task of tasks) await worker.post(`/api/tasks/${task.id}/complete`, { result: task.task });
    const lines = [await answer.next(), await answer.next(), await answer.next(), await answer.next()];
    expect(await answer.next()).toBeUndefined();
    const once = tasks.find((t) => t.task === 'once');
    expect(lines.filter((l) => l.answer?.taskId === once.id).map((l) => l.index).sort()).toEqual([0, 1]);
    expect(lines.every((l) => l.status === 200 && l.answer.status === 'completed')).toBe(true);
    expect(hub.rpc.counts()).toEqual(idle);
  });

  it('counts each call as an rpc and the request once, outside the request latency histogram', async () => {
    await start();
    const answer = await rpcs(boss, { calls: [{ target: 'nobody', task: 'refused' }, { target: 'worker', task: 'done' }] });
    const [task] = await pendingTasks(1);
    await worker.post(`/api/tasks/${task.id}/complete`, { result: 1 });
    expect([(await answer.next()).status, (await answer.next()).status]).toEqual([422, 200]);
    expect(await answer.next()).toBeUndefined();
    const lines = (await (await fetch(`${hub.url}/metrics`)).text()).split('\n');
    const value = (prefix: string) => Number(lines.find((l) => l.startsWith(prefix))?.split(' ').at(-1));
    expect(value('taskhub_rpc_total{outcome="unknown_agent"}')).toBe(1);
    expect(value('taskhub_rpc_total{outcome="completed"}')).toBe(1);
    expect(value('taskhub_http_requests_total{method="POST",route="/api/tasks/rpcs",status="200"}')).toBe(1);
    expect(lines.some((l) => l.startsWith('taskhub_http_request_duration_seconds') && l.includes('/api/tasks/rpcs'))).toBe(false);
  });

  it('answers the calls still waiting at shutdown with shutting_down lines, and the tasks stay recorded', async () => {
    await start();
    const answer = await rpcs(boss, { calls: [{ target: 'worker', task: 'a' }, { target: 'worker', task: 'b' }] });
    await pendingTasks(2);
    const stopping = hub.stop({ keepData: true });
    const lines = [await answer.next(), await answer.next()];
    expect(lines.map((l) => [l.status, l.error.code])).toEqual([[503, 'shutting_down'], [503, 'shutting_down']]);
    expect(lines.map((l) => l.index).sort()).toEqual([0, 1]);
    expect(await answer.next()).toBeUndefined();
    await stopping;
    hub = await startTestHub({}, hub.dataDir);
    expect((await as(hub, hub.adminToken).get('/api/tasks')).body.tasks.map((t: any) => t.status)).toEqual(['assigned', 'assigned']);
  });
});
