import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

describe('SDK: rpcs made together', () => {
  /** A caller whose requests are noted by path, as they leave. */
  function noting(url = hub.url) {
    const paths: string[] = [];
    const noted: typeof fetch = (input, init) => {
      paths.push(new URL(String(input)).pathname);
      return fetch(input, init);
    };
    return { client: new TaskhubClient({ url, token: callerToken, pollMs: 100, fetch: noted }), paths };
  }

  it('go as one request, each settling as its own call would; a lone call goes on its own route', async () => {
    await startBot({
      echo: (payload: { fail?: string; value?: unknown }) => {
        if (payload.fail) throw new Error(payload.fail);
        return payload.value;
      },
    });
    const { client, paths } = noting();
    const settled = await Promise.allSettled([
      ...[1, 2, 3, 4].map((n) => client.rpc({ capability: 'echo', task: 'echo', payload: { value: n } })),
      client.rpc({ capability: 'echo', task: 'echo', payload: { fail: 'no can do' } }),
      client.rpc({ capability: 'nobody', task: 'x' }),
    ]);
    expect(settled.slice(0, 4)).toEqual([1, 2, 3, 4].map((value) => ({ status: 'fulfilled', value })));
    const [failed, refused] = settled.slice(4).map((s) => (s as PromiseRejectedResult).reason);
    expect(failed).toBeInstanceOf(TaskFailedError);
    expect(failed).toMatchObject({ status: 'failed', error: 'no can do' });
    expect(refused).toBeInstanceOf(HttpError);
    expect(refused).toMatchObject({ status: 422, code: 'no_agent_for_capability' });
    expect(paths).toEqual(['/api/tasks/rpcs']);

    expect(await client.rpc({ capability: 'echo', task: 'echo', payload: { value: 'alone' } })).toBe('alone');
    expect(paths).toEqual(['/api/tasks/rpcs', '/api/tasks/rpc']);
  });

  it('a malformed call fails alone: its request is refused as a whole, and its calls are sent again one by one', async () => {
    await startBot({ echo: (p) => p });
    const { client, paths } = noting();
    const settled = await Promise.allSettled([
      client.rpc({ capability: 'echo', task: 'echo', payload: 1 }),
      client.rpc({ capability: 'echo', task: '', payload: 2 }),
      client.rpc({ capability: 'echo', task: 'echo', payload: 3 }),
    ]);
    expect(settled[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(settled[2]).toEqual({ status: 'fulfilled', value: 3 });
    expect(paths).toEqual(['/api/tasks/rpcs', '/api/tasks/rpc', '/api/tasks/rpc', '/api/tasks/rpc']);
    expect((await admin.listTasks()).tasks).toHaveLength(2);
  });

  it('a call aborted by its own signal settles alone; the others of its request are answered', async () => {
    const bot = holding();
    await startBot({ hold: bot.handler });
    const { client, paths } = noting();
    const leaving = new AbortController();
    const stays = client.rpc({ capability: 'hold', task: 'stays', payload: 1 });
    const leaves = rejection(client.rpc({ capability: 'hold', task: 'leaves', payload: 2, signal: leaving.signal }));
    await vi.waitFor(() => expect(bot.started).toHaveLength(2), WAIT);
    leaving.abort(new Error('not needed any more'));
    expect((await leaves).message).toBe('not needed any more');
    for (const id of bot.started) bot.release(id, id);
    expect(bot.started).toContain(await stays);
    expect(paths).toEqual(['/api/tasks/rpcs']);
    await vi.waitFor(() => expect(hub.rpc.counts().waiters).toBe(0), WAIT);
  });

  it('re-sends the calls of a request that was cut, each to its own task', async () => {
    const bot = holding();
    await startBot({ hold: bot.handler });
    const { client, paths } = noting(proxy.url);
    const answers = [1, 2, 3].map((n) => client.rpc({ capability: 'hold', task: 'cut', payload: n }));
    await vi.waitFor(() => expect(bot.started).toHaveLength(3), WAIT);
    proxy.cut();
    // The calls come back on new connections, and the hub holds each re-sent call on its first task.
    await vi.waitFor(() => expect(paths.length).toBeGreaterThan(1), WAIT);
    await vi.waitFor(() => expect(hub.rpc.counts().waiters).toBe(3), WAIT);
    for (const id of bot.started) bot.release(id, id);
    expect(new Set(await Promise.all(answers))).toEqual(new Set(bot.started));
    expect((await admin.listTasks()).tasks).toHaveLength(3);
  });

  it('go one request each to a hub without the batch route', async () => {
    // A hub of before the batch route, as far as the client can tell: 404 for it, everything else passed on.
    const older = http.createServer(async (req, res) => {
      if (req.url === '/api/tasks/rpcs') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no route"}}');
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const answer = await fetch(`${hub.url}${req.url}`, {
        method: req.method,
        headers: { authorization: req.headers.authorization!, 'content-type': 'application/json' },
        ...(chunks.length > 0 && { body: Buffer.concat(chunks) }),
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
    });
    await new Promise<void>((resolve) => older.listen(0, '127.0.0.1', resolve));
    try {
      await startBot({ echo: (p) => p });
      const { client, paths } = noting(`http://127.0.0.1:${(older.address() as AddressInfo).port}`);
      expect(await Promise.all([1, 2].map((n) => client.rpc({ capability: 'echo', task: 'echo', payload: n })))).toEqual([1, 2]);
      expect(await Promise.all([3, 4].map((n) => client.rpc({ capability: 'echo', task: 'echo', payload: n })))).toEqual([3, 4]);
      expect(paths).toEqual(['/api/tasks/rpcs', '/api/tasks/rpc', '/api/tasks/rpc', '/api/tasks/rpc', '/api/tasks/rpc']);
    } finally {
      older.closeAllConnections();
      await new Promise((resolve) => older.close(resolve));
    }
  });
});
