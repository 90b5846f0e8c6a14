import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, type Client } from '../helpers/api.js';
import { runTaskReports } from '../../src/hub/task-reports.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
let boss: Client & { name: string };
let worker: Client & { name: string };
let other: Client & { name: string };

beforeEach(async () => {
  hub = await startTestHub();
  boss = await addAgent(hub, 'boss');
  worker = await addAgent(hub, 'worker');
  other = await addAgent(hub, 'other');
});
afterEach(async () => {
  await hub.stop();
});

const assign = async (target = 'worker', body: Record<string, unknown> = {}) => {
  const res = await boss.post('/api/tasks', { target, task: 'do it', ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.task as { id: string; [k: string]: any };
};
const statusOf = async (id: string) => (await boss.get(`/api/tasks/${id}`)).body.task.status as string;

describe('POST /api/tasks/reports', () => {
  it('answers each report as its own endpoint would, in order, and one refused leaves the others applied', async () => {
    const [a, b, c] = [await assign(), await assign(), await assign('other')];
    await worker.post(`/api/tasks/${b.id}/complete`, { result: 'earlier' });
    const res = await worker.post('/api/tasks/reports', {
      reports: [
        { op: 'complete', taskId: a.id, result: { n: 1 } },
        { op: 'complete', taskId: b.id, result: 'again' },
        { op: 'complete', taskId: c.id },
        { op: 'complete', taskId: '00000000-0000-4000-8000-000000000000' },
      ],
    });
    expect(res.status).toBe(200);
    const single = await worker.post(`/api/tasks/${b.id}/complete`, { result: 'again' });
    const stranger = await worker.post(`/api/tasks/${c.id}/complete`, {});
    const results = res.body.results as any[];
    expect(results).toHaveLength(4);
    expect(results[0]).toMatchObject({ status: 200, task: { id: a.id, status: 'completed', result: { n: 1 } } });
    expect(results[1]).toEqual({ status: single.status, error: single.body.error });
    expect(results[2]).toEqual({ status: stranger.status, error: stranger.body.error });
    expect(results[3]).toMatchObject({ status: 404, error: { code: 'not_found' } });
    expect(single.status).toBe(409);
    expect([await statusOf(a.id), await statusOf(b.id), await statusOf(c.id)]).toEqual(['completed', 'completed', 'assigned']);
    expect((await boss.get(`/api/tasks/${b.id}`)).body.task.result).toBe('earlier');
  });

  it('runs the reports on one task in the order sent: claim, progress, complete', async () => {
    const task = await assign();
    const res = await worker.post('/api/tasks/reports', {
      reports: [
        { op: 'claim', taskId: task.id, leaseSeconds: 60 },
        { op: 'progress', taskId: task.id, message: 'half', progress: 0.5 },
        { op: 'complete', taskId: task.id, result: 'done' },
      ],
    });
    expect(res.status).toBe(200);
    expect((res.body.results as any[]).map((r) => [r.status, r.task.status])).toEqual([
      [200, 'claimed'],
      [200, 'in_progress'],
      [200, 'completed'],
    ]);
    const history = (await boss.get(`/api/tasks/${task.id}/events`)).body.events.map((e: { type: string }) => e.type);
    expect(history).toEqual(['task.assigned', 'task.claimed', 'task.progress', 'task.completed']);
  });

  it('starts a report on a task only once the one before it on that task has ended, however long that takes', async () => {
    const task = await assign();
    const tasks = hub.hub.tasks;
    // The hub's own task service, its claim held back: run side by side, the completion would come first.
    const slowClaim = {
      claim: async (...args: Parameters<typeof tasks.claim>) => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return tasks.claim(...args);
      },
      progress: tasks.progress,
      complete: tasks.complete,
      fail: tasks.fail,
    };
    const outcomes = await runTaskReports(slowClaim, { name: 'worker', role: 'agent' }, [
      { op: 'claim', taskId: task.id },
      { op: 'complete', taskId: task.id, result: 'done' },
    ]);
    expect(outcomes.map((o) => ('task' in o ? o.task.status : o.error.code))).toEqual(['claimed', 'completed']);
  });

  it('fails with retry as POST /fail does', async () => {
    const task = await assign();
    const res = await worker.post('/api/tasks/reports', { reports: [{ op: 'fail', taskId: task.id, error: 'flaky', retry: true }] });
    expect(res.body.results[0]).toMatchObject({ status: 200, task: { status: 'assigned', error: 'flaky' } });
  });

  it('refuses a bad body as a whole with 400 and applies none of it', async () => {
    const task = await assign();
    const cases: [unknown, string][] = [
      [{ reports: [{ op: 'complete', taskId: task.id }, { op: 'explode', taskId: task.id }] }, 'body.reports.1.op'],
      [{ reports: [{ op: 'complete', taskId: task.id }, { op: 'fail', taskId: task.id }] }, 'body.reports.1.error'],
      [{ reports: [{ op: 'complete', taskId: task.id, extra: 1 }] }, 'body.reports.0'],
      [{ reports: [] }, 'body.reports'],
      [{ reports: Array.from({ length: 101 }, () => ({ op: 'complete', taskId: task.id })) }, 'body.reports'],
      [{}, 'body.reports'],
    ];
    for (const [body, path] of cases) {
      const res = await worker.post('/api/tasks/reports', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect(await statusOf(task.id)).toBe('assigned');
  });

  it('needs a token', async () => {
    const res = await fetch(`${hub.url}/api/tasks/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reports: [{ op: 'complete', taskId: 'x' }] }),
    });
    expect(res.status).toBe(401);
  });
});
