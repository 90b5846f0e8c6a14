import fs from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { addAgent, as, call } from '../helpers/api.js';
import { killChildHubs, startChildHub } from '../helpers/child-hub.js';
import { makeDataDir, startTestHub, type TestHub } from '../helpers/hub.js';

const hubs: TestHub[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await killChildHubs();
  await Promise.all(hubs.splice(0).map((h) => h.stop()));
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}, 40_000);

const dataDir = () => {
  const dir = makeDataDir();
  dirs.push(dir);
  return dir;
};
const keep = (hub: TestHub) => (hubs.push(hub), hub);

it('a restart on the same data dir keeps every task, status and event, and ids go on increasing', async () => {
  const dir = dataDir();
  const first = await startTestHub({}, dir);
  const boss = await addAgent(first, 'boss');
  const worker = await addAgent(first, 'worker');
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await boss.post('/api/tasks', { target: 'worker', task: `t${i}` })).body.task.id);
  await worker.post(`/api/tasks/${ids[0]}/claim`, { leaseSeconds: 600 });
  await worker.post(`/api/tasks/${ids[1]}/complete`, { result: { n: 1 } });
  await worker.post(`/api/tasks/${ids[2]}/fail`, { error: 'no' });
  await boss.post(`/api/tasks/${ids[3]}/cancel`);
  const snapshot = async (hub: TestHub) => {
    const client = as(hub, boss.token);
    return Promise.all(
      ids.map(async (id) => ({
        task: (await client.get(`/api/tasks/${id}`)).body.task,
        events: (await client.get(`/api/tasks/${id}/events`)).body.events,
      })),
    );
  };
  const before = await snapshot(first);
  const lastId = (await as(first, first.adminToken).get('/api/stats')).body.events.lastId;
  await first.stop({ keepData: true });

  const second = keep(await startTestHub({}, dir));
  expect(await snapshot(second)).toEqual(before);
  expect(before.map((s) => s.task.status)).toEqual(['claimed', 'completed', 'failed', 'cancelled', 'assigned']);
  const stats = (await as(second, second.adminToken).get('/api/stats')).body;
  expect(stats.events.lastId).toBe(lastId);

  const next = (await as(second, boss.token).post('/api/tasks', { target: 'worker', task: 'after restart' })).body.task;
  const [event] = (await as(second, boss.token).get(`/api/tasks/${next.id}/events`)).body.events;
  expect(event.id).toBe(lastId + 1);
  const listed = (await as(second, boss.token).get('/api/tasks?role=assigner')).body.tasks.map((t: any) => t.id);
  expect(listed).toEqual([next.id, ...[...ids].reverse()]);
}, 40_000);

it('kill -9 in the middle of concurrent task creation loses no task whose creation was answered', async () => {
  const dir = dataDir();
  const child = await startChildHub(dir, { TASKHUB_RATE_LIMIT: '0' });
  const admin = child.adminToken();
  const bossToken = (await call(child, admin, 'POST', '/api/agents', { name: 'boss' })).body.token as string;
  expect((await call(child, admin, 'POST', '/api/agents', { name: 'worker' })).status).toBe(201);

  const answered: string[] = [];
  let killed = false;
  const creator = async (n: number) => {
    for (let i = 0; !killed; i++) {
      try {
        const res = await call(child, bossToken, 'POST', '/api/tasks', { target: 'worker', task: `c${n}-${i}` });
        if (res.status === 201) answered.push(res.body.task.id);
      } catch {
        return; // the connection died with the process
      }
    }
  };
  const creators = Array.from({ length: 8 }, (_, n) => creator(n));
  await expect.poll(() => answered.length, { timeout: 15_000, interval: 5 }).toBeGreaterThanOrEqual(200);
  const exit = await child.kill('SIGKILL');
  killed = true;
  await Promise.all(creators);
  expect(exit.signal).toBe('SIGKILL');

  const after = keep(await startTestHub({ TASKHUB_RATE_LIMIT: '0' }, dir));
  const boss = as(after, bossToken);
  const missing: string[] = [];
  for (const id of answered) if ((await boss.get(`/api/tasks/${id}`)).status !== 200) missing.push(id);
  expect(missing).toEqual([]);
  const stats = (await as(after, after.adminToken).get('/api/stats')).body;
  expect(stats.tasks.assigned).toBeGreaterThanOrEqual(answered.length);
}, 40_000);

it('an rpc waiting in one process is answered when another process on the same data dir completes its task', async () => {
  const dir = dataDir();
  const a = keep(await startTestHub({ TASKHUB_RPC_POLL_MS: '50' }, dir));
  const boss = await addAgent(a, 'boss');
  const worker = await addAgent(a, 'worker');
  const b = await startChildHub(dir);
  const viaB = as(b, worker.token);

  const answer = boss.post('/api/tasks/rpc', { target: 'worker', task: 'cross-process', timeout: 30 });
  let task: any;
  await expect.poll(async () => (task = (await viaB.get('/api/tasks/pending')).body.tasks[0]), { timeout: 10_000 })
    .toBeDefined();
  expect(a.rpc.size()).toBe(1);
  expect((await viaB.post(`/api/tasks/${task.id}/claim`, {})).status).toBe(200);
  expect((await viaB.post(`/api/tasks/${task.id}/complete`, { result: 'from B' })).status).toBe(200);
  const res = await answer;
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ taskId: task.id, status: 'completed', result: 'from B' });
  expect(a.rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
  expect((await b.kill('SIGTERM')).code).toBe(0);
}, 40_000);
