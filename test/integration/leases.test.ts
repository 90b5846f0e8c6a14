import { afterEach, beforeEach, expect, it } from 'vitest';
import { addAgent, type Client } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { openStream, type TestStream } from '../helpers/stream.js';

// The same rules as sweeper.test.ts, end to end over HTTP and SSE with real time (1 s leases).
let hub: TestHub;
let boss: Client & { name: string };
let worker: Client & { name: string };
let bossStream: TestStream;
let workerStream: TestStream;

beforeEach(async () => {
  hub = await startTestHub({ TASKHUB_MAX_ATTEMPTS: '2' });
  boss = await addAgent(hub, 'boss');
  worker = await addAgent(hub, 'worker');
  bossStream = openStream(hub.url, boss.token);
  workerStream = openStream(hub.url, worker.token);
  await Promise.all([bossStream, workerStream].map((s) => s.waitFor((e) => e.some((x) => x.type === 'ready'))));
});
afterEach(async () => {
  bossStream.close();
  workerStream.close();
  await hub.stop();
});

const of = (stream: TestStream, id: string, type: string) =>
  stream.events().filter((e) => e.type === type && e.data.taskId === id);

it('redelivers a task whose lease ran out, then fails it with lease_expired after TASKHUB_MAX_ATTEMPTS', async () => {
  const { task } = (await boss.post('/api/tasks', { target: 'worker', task: 'flaky' })).body;
  expect((await worker.post(`/api/tasks/${task.id}/claim`, { leaseSeconds: 1 })).status).toBe(200);
  await workerStream.waitFor(() => of(workerStream, task.id, 'task.assigned').length === 2, 10_000);
  expect(of(workerStream, task.id, 'task.assigned')[1]!.data).toMatchObject({
    reason: 'lease_expired',
    task: { status: 'assigned', attempts: 1, leaseExpiresAt: null, claimedAt: null },
  });
  expect((await worker.get('/api/tasks/pending')).body.tasks.map((t: any) => t.id)).toEqual([task.id]);

  expect((await worker.post(`/api/tasks/${task.id}/claim`, { leaseSeconds: 1 })).status).toBe(200);
  await bossStream.waitFor(() => of(bossStream, task.id, 'task.failed').length === 1, 10_000);
  expect(of(bossStream, task.id, 'task.failed')[0]!.data.task).toMatchObject({
    status: 'failed',
    error: 'lease_expired',
    attempts: 2,
  });
  expect(of(workerStream, task.id, 'task.assigned')).toHaveLength(2);
  const late = await worker.post(`/api/tasks/${task.id}/complete`, { result: 'too late' });
  expect([late.status, late.body.error.code]).toEqual([409, 'invalid_transition']);
});

it('keeps a lease alive while progress is reported', async () => {
  const { task } = (await boss.post('/api/tasks', { target: 'worker', task: 'long' })).body;
  let lease = Date.parse((await worker.post(`/api/tasks/${task.id}/claim`, { leaseSeconds: 2 })).body.task.leaseExpiresAt);
  // Three reports 0.8 s apart outlast the 2 s lease only because each one renews it.
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 800));
    const res = await worker.post(`/api/tasks/${task.id}/progress`, { progress: i / 3 });
    expect(res.status).toBe(200);
    expect(Date.parse(res.body.task.leaseExpiresAt)).toBeGreaterThan(lease);
    lease = Date.parse(res.body.task.leaseExpiresAt);
  }
  expect((await worker.post(`/api/tasks/${task.id}/complete`, { result: 'done' })).body.task.attempts).toBe(0);
});

it('expires a task at its deadline and tells the assigner, not the target', async () => {
  const deadline = new Date(Date.now() + 1000).toISOString();
  const { task } = (await boss.post('/api/tasks', { target: 'worker', task: 'urgent', deadline })).body;
  await bossStream.waitFor(() => of(bossStream, task.id, 'task.expired').length === 1, 10_000);
  expect(of(bossStream, task.id, 'task.expired')[0]!.data).toMatchObject({
    reason: 'deadline',
    task: { status: 'expired', deadline },
  });
  expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(deadline));
  expect(of(workerStream, task.id, 'task.expired')).toEqual([]);
  expect((await worker.get('/api/tasks/pending')).body.tasks).toEqual([]);
});
