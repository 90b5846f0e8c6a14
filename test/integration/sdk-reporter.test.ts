import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTaskReporter, HttpError, TaskhubClient, type Task, type Worker } from '../../src/client/index.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
let boss: TaskhubClient;
let agentToken: string;
let worker: Worker | undefined;

beforeEach(async () => {
  hub = await startTestHub();
  const admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
  boss = new TaskhubClient({ url: hub.url, token: (await admin.createAgent({ name: 'boss' })).token });
  agentToken = (await admin.createAgent({ name: 'bot', capabilities: ['gate'] })).token;
});
afterEach(async () => {
  await worker?.stop({ abort: true });
  worker = undefined;
  await hub.stop();
});

/** Requests the hub counted under `route` (POST), from its Prometheus text. */
async function postsTo(route: string): Promise<number> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('taskhub_http_requests_total{') && line.includes('method="POST"') && line.includes(`route="${route}"`)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

const assign = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => boss.assignTask({ target: 'bot', task: `t${i}`, capability: 'gate', payload: i })));

describe('the SDK reporter', () => {
  it('sends a lone report on its own endpoint and those made meanwhile together, each settling as its endpoint would', async () => {
    const [a, b] = await assign(2);
    const reporter = createTaskReporter(new TaskhubClient({ url: hub.url, token: agentToken }));
    const first = reporter.report({ op: 'complete', taskId: a!.id, result: 'a' });
    const second = reporter.report({ op: 'complete', taskId: b!.id, result: 'b' });
    const again = reporter.report({ op: 'complete', taskId: a!.id, result: 'twice' });
    expect((await first).status).toBe('completed');
    expect(await second).toMatchObject({ id: b!.id, status: 'completed', result: 'b' });
    const refused = await again.catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HttpError);
    expect(refused).toMatchObject({ status: 409, code: 'invalid_transition' });
    expect(await postsTo('/api/tasks/:id/complete')).toBe(1);
    expect(await postsTo('/api/tasks/reports')).toBe(1);
    expect((await boss.getTask(a!.id)).result).toBe('a');
  });

  it('falls back to one request per report on a hub that answers the batch endpoint 404', async () => {
    const [a, b, c] = await assign(3);
    // A hub without the endpoint, played by this one: the batch request goes to a path it does not know.
    const olderHub: typeof fetch = (input, init) =>
      fetch(String(input).replace('/api/tasks/reports', '/api/tasks/reports-unknown'), init);
    const reporter = createTaskReporter(new TaskhubClient({ url: hub.url, token: agentToken, fetch: olderHub }));
    const done = await Promise.all([a, b, c].map((t) => reporter.report({ op: 'complete', taskId: t!.id, result: t!.payload })));
    expect(done.map((t: Task) => t.status)).toEqual(['completed', 'completed', 'completed']);
    expect(await postsTo('/api/tasks/:id/complete')).toBe(3);
    // Three more at once, two of them queued behind the first: the reporter does not try the batch route again.
    const later = await assign(3);
    await Promise.all(later.map((t) => reporter.report({ op: 'complete', taskId: t.id })));
    expect(await postsTo('/api/tasks/:id/complete')).toBe(6);
    expect(await postsTo('unmatched')).toBe(1);
  });

  it('lets a busy worker claim and complete many tasks in fewer requests than two per task', async () => {
    const tasks = 24;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    worker = new TaskhubClient({ url: hub.url, token: agentToken }).worker({
      concurrency: 8,
      capabilities: { gate: async (payload) => (await gate, payload) },
    });
    await worker.ready;
    const assigned = await assign(tasks);
    await vi.waitFor(async () => expect((await boss.listTasks({ status: 'claimed' })).tasks.length).toBe(8), { timeout: 10_000 });
    open();
    await vi.waitFor(async () => {
      const done = (await boss.listTasks({ status: 'completed', limit: 100 })).tasks;
      expect(done.length).toBe(tasks);
    }, { timeout: 15_000, interval: 50 });
    for (const t of assigned) expect((await boss.getTask(t.id)).result).toBe(t.payload);
    const requests = (await postsTo('/api/tasks/reports')) + (await postsTo('/api/tasks/:id/claim')) + (await postsTo('/api/tasks/:id/complete'));
    expect(await postsTo('/api/tasks/reports')).toBeGreaterThan(0);
    expect(requests).toBeLessThan(2 * tasks);
  });
});
