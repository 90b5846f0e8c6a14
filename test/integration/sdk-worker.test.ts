import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TaskhubClient, type Task, type Worker, type WorkerOptions } from '../../src/client/index.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';

let hub: TestHub;
let proxy: Proxy;
let boss: TaskhubClient;
let agentToken: string;
const workers: Worker[] = [];

const WAIT = { timeout: 15_000, interval: 20 };

beforeEach(async () => {
  hub = await startTestHub();
  proxy = await startProxy(hub.url);
  const admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
  boss = new TaskhubClient({ url: hub.url, token: (await admin.createAgent({ name: 'boss' })).token });
  agentToken = (await admin.createAgent({ name: 'bot', capabilities: ['upper', 'slow', 'mystery'] })).token;
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ abort: true })));
  await proxy.close();
  await hub.stop();
});

function startWorker(options: WorkerOptions, url = hub.url) {
  const errors: Error[] = [];
  const worker = new TaskhubClient({ url, token: agentToken }).worker({
    stream: { minDelayMs: 100, maxDelayMs: 400 },
    onError: (e) => errors.push(e),
    ...options,
  });
  workers.push(worker);
  return { worker, errors };
}

const settled = (id: string) =>
  vi.waitFor(async () => {
    const task = await boss.getTask(id);
    expect(['completed', 'failed', 'cancelled', 'expired']).toContain(task.status);
    return task;
  }, WAIT);

/** A promise with its resolver, for handlers that wait on the test. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

describe('SDK: worker', () => {
  it('claims, runs with progress, and completes each delivered task', async () => {
    const { worker, errors } = startWorker({
      capabilities: {
        upper: async (payload: { text: string }, ctx) => {
          await ctx.progress({ message: 'working', progress: 0.5 });
          return ctx.task.task === 'shout' ? payload.text.toUpperCase() : payload.text;
        },
      },
    });
    await worker.ready;
    const task = await boss.assignTask({ capability: 'upper', task: 'shout', payload: { text: 'abc' } });
    expect(await settled(task.id)).toMatchObject({ status: 'completed', result: 'ABC' });
    const types = (await boss.taskEvents(task.id)).map((e) => e.type);
    expect(types).toEqual(['task.assigned', 'task.claimed', 'task.progress', 'task.completed']);
    expect(errors).toEqual([]);
  });

  it('drains tasks that were pending before it started', async () => {
    const a = await boss.assignTask({ target: 'bot', capability: 'upper', task: 'a', payload: { text: 'a' } });
    const b = await boss.assignTask({ target: 'bot', capability: 'upper', task: 'b', payload: { text: 'b' } });
    startWorker({ capabilities: { upper: (p: { text: string }) => p.text.toUpperCase() } });
    expect(await settled(a.id)).toMatchObject({ status: 'completed', result: 'A' });
    expect(await settled(b.id)).toMatchObject({ status: 'completed', result: 'B' });
  });

  it('fails a task whose handler throws, and retries it when the error says so', async () => {
    let calls = 0;
    const { worker } = startWorker({
      capabilities: {
        upper: () => {
          calls += 1;
          if (calls === 1) throw Object.assign(new Error('transient'), { retry: true });
          throw new Error('broken for good');
        },
      },
    });
    await worker.ready;
    const task = await boss.assignTask({ capability: 'upper', task: 'x' });
    expect(await settled(task.id)).toMatchObject({ status: 'failed', error: 'broken for good', attempts: 1 });
    expect(calls).toBe(2);
  });

  it('aborts the handler when the task is cancelled mid-run and reports nothing more', async () => {
    const started = gate();
    const sawAbort = gate<unknown>();
    const { worker, errors } = startWorker({
      capabilities: {
        slow: (_payload, ctx) =>
          new Promise((_resolve, reject) => {
            started.open();
            ctx.signal.addEventListener('abort', () => {
              sawAbort.open(ctx.signal.reason);
              reject(new Error('stopped on cancel'));
            });
          }),
      },
    });
    await worker.ready;
    const task = await boss.assignTask({ capability: 'slow', task: 'long job' });
    await started.promise;
    expect(worker.running).toBe(1);
    expect((await boss.cancelTask(task.id)).status).toBe('cancelled');
    expect(String(await sawAbort.promise)).toContain('cancelled');
    await vi.waitFor(() => expect(worker.running).toBe(0), WAIT);
    const final = await boss.getTask(task.id);
    expect(final).toMatchObject({ status: 'cancelled', error: null });
    expect(errors).toEqual([]);
  });

  it('runs at most `concurrency` tasks at once and still runs them all', async () => {
    let now = 0;
    let peak = 0;
    const { worker } = startWorker({
      concurrency: 2,
      capabilities: {
        upper: async () => {
          peak = Math.max(peak, ++now);
          await new Promise((r) => setTimeout(r, 30));
          now -= 1;
          return 'ok';
        },
      },
    });
    await worker.ready;
    const tasks = await Promise.all([1, 2, 3, 4, 5].map((i) => boss.assignTask({ capability: 'upper', task: `t${i}` })));
    for (const t of tasks) expect((await settled(t.id)).status).toBe('completed');
    expect(peak).toBe(2);
  });

  it('picks up, after its stream reconnects, a task assigned while it was cut off', async () => {
    const { worker } = startWorker({ capabilities: { upper: (p: { text: string }) => p.text.toUpperCase() } }, proxy.url);
    await worker.ready;
    proxy.refuse(true);
    proxy.cut();
    const task = await boss.assignTask({ capability: 'upper', task: 'x', payload: { text: 'late' } });
    await new Promise((r) => setTimeout(r, 300));
    expect((await boss.getTask(task.id)).status).toBe('assigned');
    proxy.refuse(false);
    expect(await settled(task.id)).toMatchObject({ status: 'completed', result: 'LATE' });
  });

  it('fails a task no handler takes, and routes a capability-less task by its text', async () => {
    const { worker } = startWorker({ capabilities: { upper: () => 'by name' } });
    await worker.ready;
    const unknown = await boss.assignTask({ capability: 'mystery', task: 'what' });
    expect(await settled(unknown.id)).toMatchObject({ status: 'failed' });
    expect((await boss.getTask(unknown.id)).error).toMatch(/no handler for capability "mystery".*upper/);
    const byName = await boss.assignTask({ target: 'bot', task: 'upper' });
    expect(await settled(byName.id)).toMatchObject({ status: 'completed', result: 'by name' });
  });

  it('waits for running tasks on stop, and hands them back on stop with abort', async () => {
    const release = gate();
    const started: string[] = [];
    const { worker } = startWorker({
      capabilities: {
        upper: async (_p, ctx) => {
          started.push(ctx.task.id);
          await release.promise;
          return 'finished';
        },
      },
    });
    await worker.ready;
    const graceful = await boss.assignTask({ capability: 'upper', task: 'g' });
    await vi.waitFor(() => expect(started).toEqual([graceful.id]), WAIT);
    const stopping = worker.stop();
    release.open();
    await stopping;
    expect((await boss.getTask(graceful.id)).status).toBe('completed');

    const second = startWorker({ capabilities: { slow: (_p, ctx) => new Promise((_r, reject) => {
      started.push(ctx.task.id);
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    }) } });
    await second.worker.ready;
    const aborted: Task = await boss.assignTask({ capability: 'slow', task: 'a' });
    await vi.waitFor(() => expect(started).toContain(aborted.id), WAIT);
    await second.worker.stop({ abort: true });
    expect(await boss.getTask(aborted.id)).toMatchObject({ status: 'assigned', attempts: 1, error: 'worker stopped' });
    expect(second.worker.running).toBe(0);
  });
});
