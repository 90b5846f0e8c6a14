import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { addAgent, as, call } from '../helpers/api.js';
import { killChildHubs, startChildHub } from '../helpers/child-hub.js';
import { makeDataDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { openStream } from '../helpers/stream.js';

const dirs: string[] = [];
let restarted: TestHub | undefined;
afterEach(async () => {
  await killChildHubs();
  await restarted?.stop();
  restarted = undefined;
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}, 40_000);

const rpcCall = (url: string, token: string, body: object) =>
  fetch(`${url}/api/tasks/rpc`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as any, connection: res.headers.get('connection') }));

it('SIGTERM answers waiting RPCs 503 shutting_down, ends streams, closes the database and exits 0', async () => {
  const dir = makeDataDir();
  dirs.push(dir);
  const child = await startChildHub(dir);
  const admin = child.adminToken();
  const boss = (await call(child, admin, 'POST', '/api/agents', { name: 'boss' })).body.token as string;
  const worker = (await call(child, admin, 'POST', '/api/agents', { name: 'worker' })).body.token as string;
  const stream = openStream(child.url, worker);
  await stream.waitFor((e) => e.some((x) => x.type === 'ready'));
  const answers = [1, 2].map((n) => rpcCall(child.url, boss, { target: 'worker', task: `waiting ${n}` }));
  await stream.waitFor((e) => e.filter((x) => x.type === 'task.assigned').length === 2);

  const exit = child.kill('SIGTERM');
  for (const res of await Promise.all(answers)) {
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('shutting_down');
    expect(res.connection).toBe('close');
  }
  await stream.waitFor(() => stream.errors.length > 0);
  stream.close();
  expect(await exit).toEqual({ code: 0, signal: null });
  expect(child.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'taskhub stopped']));
  await expect(fetch(`${child.url}/healthz`)).rejects.toThrow();
  // Closing the last connection checkpoints the WAL into the database file and removes it.
  expect(fs.existsSync(path.join(dir, 'taskhub.db-wal'))).toBe(false);

  restarted = await startTestHub({}, dir);
  const tasks = (await as(restarted, boss).get('/api/tasks')).body.tasks;
  expect(tasks.map((t: any) => [t.task, t.kind, t.status]).sort()).toEqual([
    ['waiting 1', 'rpc', 'assigned'],
    ['waiting 2', 'rpc', 'assigned'],
  ]);
}, 40_000);

it('stop() answers waiting RPCs, refuses new requests and is safe to call twice', async () => {
  const hub = await startTestHub({ TASKHUB_RPC_POLL_MS: '50' });
  const boss = await addAgent(hub, 'boss');
  await addAgent(hub, 'worker');
  const answer = rpcCall(hub.url, boss.token, { target: 'worker', task: 'waiting' });
  await expect.poll(() => hub.rpc.size()).toBe(1);
  const [first, second] = [hub.stop(), hub.stop()];
  const res = await answer;
  expect([res.status, res.body.error.code]).toEqual([503, 'shutting_down']);
  await Promise.all([first, second]);
  await hub.stop();
  expect(hub.rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
  expect(hub.hub.sweeper.armedFor()).toBeUndefined();
}, 40_000);

it('stop() closes connections that serve no request at once, instead of waiting out the drain period', async () => {
  const hub = await startTestHub();
  const { hostname, port } = new URL(hub.url);
  // A connection that never sends a request, like the spare one a fetch client opens after aborting a stream.
  const idle = net.connect(Number(port), hostname);
  await new Promise((resolve) => idle.once('connect', resolve));
  const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
  idle.on('error', () => {});
  const started = Date.now();
  await hub.stop();
  await idleClosed;
  // The drain period is 2 s; a connection with nothing in flight must not make shutdown wait for it.
  expect(Date.now() - started).toBeLessThan(1500);
});

it('SIGTERM sent to `npm start` reaches the hub, which shuts down cleanly', async () => {
  const dir = makeDataDir();
  dirs.push(dir);
  const child = await startChildHub(dir, {}, 30_000, { viaNpmStart: true });
  expect((await call(child, undefined, 'GET', '/healthz')).status).toBe(200);
  await child.kill('SIGTERM');
  expect(child.logs.some((entry) => entry.msg === 'taskhub stopped')).toBe(true);
  await expect(fetch(`${child.url}/healthz`)).rejects.toThrow();
}, 40_000);

it('an rpc whose task is still being created when the waiters close rejects shutting_down, leaving nothing unhandled', async () => {
  const hub = await startTestHub();
  restarted = hub;
  await addAgent(hub, 'boss');
  await addAgent(hub, 'worker');
  // The waiter exists before its task: closing now rejects it while the creation still waits for its commit. Its
  // answer must be taken as handled at once, or the process hears an unhandled rejection (and Node would exit).
  const calling = hub.rpc.call({ name: 'boss', role: 'agent' }, { target: 'worker', task: 'late' }, { timeoutSeconds: 5 });
  hub.rpc.close();
  await expect(calling).rejects.toMatchObject({ code: 'shutting_down' });
});
