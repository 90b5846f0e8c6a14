import { afterEach, expect, it } from 'vitest';
import { addAgent, as } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.stop();
});

const timeouts = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

const ENDINGS = ['completed', 'failed', 'cancelled', 'expired', 'timeout', 'kept', 'gone'] as const;
type Ending = (typeof ENDINGS)[number];

it('after many RPCs with every ending, the waiter map, its timers and the process handles are back to zero', async () => {
  hub = await startTestHub({ TASKHUB_RPC_POLL_MS: '50' });
  const boss = await addAgent(hub, 'boss');
  const worker = await addAgent(hub, 'worker');
  const admin = as(hub, hub.adminToken);
  const timersBefore = timeouts();
  const perEnding = 8;

  const callers = new Map<string, AbortController>();
  const answers = ENDINGS.flatMap((ending) =>
    Array.from({ length: perEnding }, (_, i) => {
      const text = `${ending} ${i}`;
      const body: Record<string, unknown> = { target: 'worker', task: text, timeout: 5 };
      if (ending === 'kept') body.keepOnTimeout = true;
      if (ending === 'expired') body.deadline = new Date(Date.now() + 1500).toISOString();
      const gone = new AbortController();
      callers.set(text, gone);
      return fetch(`${hub!.url}/api/tasks/rpc`, {
        method: 'POST',
        headers: { authorization: `Bearer ${boss.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: gone.signal,
      }).then(
        async (res) => ({ ending, text, status: res.status, body: (await res.json()) as any }),
        () => ({ ending, text, status: 0, body: undefined }),
      );
    }),
  );
  const total = ENDINGS.length * perEnding;
  await expect.poll(() => hub!.rpc.size(), { timeout: 10_000 }).toBe(total);
  expect(hub.rpc.counts()).toEqual({ waiters: total, timers: total, polling: true });

  // On PostgreSQL a waiter is registered before its task commits: the tasks may come a little after the waiters.
  let pending: any[] = [];
  await expect
    .poll(async () => (pending = (await worker.get('/api/tasks/pending?limit=500')).body.tasks as any[]).length, { timeout: 10_000 })
    .toBe(total);
  for (const task of pending) {
    const ending = (task.task as string).split(' ')[0] as Ending;
    if (ending === 'completed') {
      await worker.post(`/api/tasks/${task.id}/claim`, {});
      await worker.post(`/api/tasks/${task.id}/complete`, { result: task.task });
    } else if (ending === 'failed') await worker.post(`/api/tasks/${task.id}/fail`, { error: task.task });
    else if (ending === 'cancelled') await boss.post(`/api/tasks/${task.id}/cancel`);
    else if (ending === 'gone') callers.get(task.task)!.abort();
  }

  const results = await Promise.all(answers);
  for (const { ending, text, status, body } of results) {
    if (ending === 'gone') {
      expect(status, text).toBe(0);
      continue;
    }
    const expected = ending === 'kept' ? 'timeout' : ending;
    expect([status, body.status], text).toEqual([200, expected]);
    if (ending === 'completed') expect(body.result).toBe(text);
    if (ending === 'failed') expect(body.error).toBe(text);
  }
  expect(hub.rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
  expect((await admin.get('/api/stats')).body.rpc.waiting).toBe(0);
  // Only the kept and the abandoned-by-caller tasks are still open; no deadline or lease is left to sweep.
  expect((await admin.get('/api/stats')).body.tasks.assigned).toBe(2 * perEnding);
  expect(hub.hub.sweeper.armedFor()).toBeUndefined();
  await expect.poll(timeouts, { timeout: 10_000 }).toBeLessThanOrEqual(timersBefore);
}, 60_000);
