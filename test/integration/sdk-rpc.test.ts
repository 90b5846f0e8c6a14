import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConnectionError,
  HttpError,
  RpcTimeoutError,
  TaskFailedError,
  TaskhubClient,
  type Worker,
  type WorkerOptions,
} from '../../src/client/index.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { rejection } from '../helpers/promises.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';

let hub: TestHub;
let proxy: Proxy;
let admin: TaskhubClient;
let callerToken: string;
let botToken: string;
const workers: Worker[] = [];
const WAIT = { timeout: 15_000, interval: 20 };

beforeEach(async () => {
  hub = await startTestHub();
  proxy = await startProxy(hub.url);
  admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
  callerToken = (await admin.createAgent({ name: 'caller' })).token;
  botToken = (await admin.createAgent({ name: 'bot', capabilities: ['echo', 'hold'] })).token;
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ abort: true })));
  await proxy.close();
  await hub.stop();
});

async function startBot(capabilities: WorkerOptions['capabilities']): Promise<Worker> {
  const worker = new TaskhubClient({ url: hub.url, token: botToken }).worker({ capabilities, concurrency: 4 });
  workers.push(worker);
  await worker.ready;
  return worker;
}

/** A caller whose connections go through the cuttable proxy. */
const caller = (url = proxy.url) => new TaskhubClient({ url, token: callerToken, pollMs: 100 });

/** A handler that holds each task until the test releases it, and says when it started. */
function holding() {
  const started: string[] = [];
  const releases = new Map<string, (value: unknown) => void>();
  const handler = (_payload: unknown, ctx: { task: { id: string }; signal: AbortSignal }) =>
    new Promise((resolve, reject) => {
      started.push(ctx.task.id);
      releases.set(ctx.task.id, resolve);
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    });
  return { handler, started, release: (id: string, value: unknown) => releases.get(id)!(value) };
}


describe('SDK: rpc', () => {
  it('resolves with the result, and rejects with typed errors for failure and refusal', async () => {
    await startBot({
      echo: (payload: { fail?: string; value?: unknown }) => {
        if (payload.fail) throw new Error(payload.fail);
        return payload.value;
      },
    });
    const client = caller(hub.url);
    expect(await client.rpc({ capability: 'echo', task: 'echo', payload: { value: { n: 1 } } })).toEqual({ n: 1 });
    expect(await client.rpc({ target: 'bot', task: 'echo', payload: { value: 'text' }, priority: 'urgent' })).toBe('text');

    const failed = await rejection(client.rpc({ capability: 'echo', task: 'echo', payload: { fail: 'no can do' } }));
    expect(failed).toBeInstanceOf(TaskFailedError);
    expect(failed).toMatchObject({ status: 'failed', error: 'no can do' });
    expect((await admin.getTask(failed.taskId)).status).toBe('failed');

    const refused = await rejection(client.rpc({ capability: 'nobody', task: 'x' }));
    expect(refused).toBeInstanceOf(HttpError);
    expect(refused).toMatchObject({ status: 422, code: 'no_agent_for_capability' });
  });

  it('rejects with RpcTimeoutError when no answer comes, the task cancelled unless kept', async () => {
    await startBot({ hold: holding().handler });
    const client = caller(hub.url);
    const [cancelled, kept] = await Promise.all([
      rejection(client.rpc({ capability: 'hold', task: 'never', timeoutMs: 1000 })),
      rejection(client.rpc({ capability: 'hold', task: 'never', timeoutMs: 1000, keepOnTimeout: true })),
    ]);
    expect(cancelled).toBeInstanceOf(RpcTimeoutError);
    expect((await admin.getTask(cancelled.taskId)).status).toBe('cancelled');
    expect(kept).toBeInstanceOf(RpcTimeoutError);
    expect((await admin.getTask(kept.taskId)).status).toBe('claimed');
  });

  it('re-sends the call when the long-poll connection is cut, so the answer is not lost', async () => {
    const bot = holding();
    await startBot({ hold: bot.handler });
    const answer = caller().rpc({ capability: 'hold', task: 'survive a blip', payload: 1 });
    await vi.waitFor(() => expect(bot.started).toHaveLength(1), WAIT);
    const before = proxy.connections();
    proxy.cut();
    // The client comes back on a new connection, and the hub holds the re-sent call on the same task.
    await vi.waitFor(() => expect(proxy.connections()).toBeGreaterThan(before), WAIT);
    await vi.waitFor(() => expect(hub.rpc.counts().waiters).toBe(1), WAIT);
    bot.release(bot.started[0]!, { survived: true });
    expect(await answer).toEqual({ survived: true });
    expect((await admin.listTasks()).tasks).toHaveLength(1);
  });

  it('tells twin calls apart when both lose their connection', async () => {
    const bot = holding();
    await startBot({ hold: bot.handler });
    const client = caller();
    const first = client.rpc({ capability: 'hold', task: 'twin', payload: { same: true } });
    const second = client.rpc({ capability: 'hold', task: 'twin', payload: { same: true } });
    await vi.waitFor(() => expect(bot.started).toHaveLength(2), WAIT);
    proxy.cut();
    await new Promise((r) => setTimeout(r, 300));
    for (const id of bot.started) bot.release(id, id);
    expect(new Set(await Promise.all([first, second]))).toEqual(new Set(bot.started));
  });

  it('after a cut, times out and cancels at the deadline the hub would have kept', async () => {
    const bot = holding();
    await startBot({ hold: bot.handler });
    const answer = rejection(caller().rpc({ capability: 'hold', task: 'slow', timeoutMs: 5000 }));
    await vi.waitFor(() => expect(bot.started).toHaveLength(1), WAIT);
    proxy.cut();
    const error = await answer;
    expect(error).toBeInstanceOf(RpcTimeoutError);
    expect(error.taskId).toBe(bot.started[0]);
    expect((await admin.getTask(error.taskId)).status).toBe('cancelled');
  });

  it('survives a hub restart during the call (503 shutting_down), answering once the task completes', async () => {
    const bot = new TaskhubClient({ url: hub.url, token: botToken });
    const answer = caller().rpc({ target: 'bot', task: 'across restarts' });
    const [task] = await vi.waitFor(async () => {
      const pending = await bot.pendingTasks();
      expect(pending).toHaveLength(1);
      return pending;
    }, WAIT);
    await bot.claimTask(task!.id);
    proxy.refuse(true);
    await hub.stop({ keepData: true });
    // Down for longer than a few polls: the caller keeps looking for its task until the hub is back.
    await new Promise((r) => setTimeout(r, 1000));
    hub = await startTestHub({}, hub.dataDir);
    proxy.retarget(hub.url);
    proxy.refuse(false);
    await new TaskhubClient({ url: hub.url, token: botToken }).completeTask(task!.id, 'done after restart');
    expect(await answer).toBe('done after restart');
  });

  it('says at once that nothing was created when the hub cannot be reached', async () => {
    const closed = await startProxy(hub.url);
    await closed.close();
    const error = await rejection(new TaskhubClient({ url: closed.url, token: callerToken }).rpc({ capability: 'echo', task: 'x' }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.cause?.cause?.code ?? error.cause?.code).toBe('ECONNREFUSED');
  });

  it('keeps re-sending a call whose requests are all lost, then says how to get its outcome later', async () => {
    // A network that loses the rpc request on its way, and lets everything else through.
    const lossy: typeof fetch = (input, init) =>
      String(input).endsWith('/api/tasks/rpc') ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init);
    const client = new TaskhubClient({ url: hub.url, token: callerToken, pollMs: 50, fetch: lossy });
    await startBot({ echo: (p) => p });
    const error = await rejection(client.rpc({ capability: 'echo', task: 'lost', timeoutMs: 5000, idempotencyKey: 'k-lost' }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain('idempotencyKey "k-lost"');
    expect((await admin.listTasks()).tasks).toEqual([]);
  });

  it('answers a call re-sent with the caller\'s own idempotency key from the first call\'s task', async () => {
    let runs = 0;
    await startBot({ echo: (p) => ((runs += 1), p) });
    const client = caller(hub.url);
    expect(await client.rpc({ capability: 'echo', task: 'once', payload: 'first', idempotencyKey: 'k-1' })).toBe('first');
    expect(await client.rpc({ capability: 'echo', task: 'once', payload: 'first', idempotencyKey: 'k-1' })).toBe('first');
    expect(runs).toBe(1);
    expect((await admin.listTasks()).tasks).toHaveLength(1);
  });
});
