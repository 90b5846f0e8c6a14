import path from 'node:path';
// Not faked by vi.useFakeTimers (which replaces the globals): the store's group commit runs on it too.
import { setImmediate as realImmediate } from 'node:timers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TRANSITIONS } from '../../src/domain/task-status.js';
import { createRpcWaiters, type RpcAnswer, type RpcWaiters } from '../../src/rpc/waiters.js';
import { clampTimeoutSeconds } from '../../src/rpc/timeout.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { agent, startBareHub, type BareHub } from '../helpers/bare-hub.js';

// Tests about time: fake timers drive the waiters' timeouts and their poll.
const boss = agent('boss');
const worker = agent('worker');
const POLL_MS = 2000;
let bare: BareHub;
let rpc: RpcWaiters;

beforeEach(async () => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00.000Z') });
  bare = startBareHub();
  await bare.addAgents('boss', 'worker');
  rpc = createRpcWaiters(bare.hub, { pollMs: POLL_MS, maxWaiters: 100 });
});
afterEach(async () => {
  rpc.close();
  await bare.close();
  vi.useRealTimers();
});

const nextTurn = () => new Promise((resolve) => realImmediate(resolve));

/** Starts a call and records its outcome without awaiting it; resolves once its waiter waits (or it settled). */
async function start(options: Parameters<RpcWaiters['call']>[2] = {}) {
  const outcome: { answer?: RpcAnswer | undefined; error?: unknown; settled: boolean } = { settled: false };
  const waitingBefore = rpc.size();
  const tasksBefore = (await bare.store.tasks.list({ limit: 1000 })).length;
  const done = rpc.call(boss, { target: 'worker', task: 'work' }, options).then(
    (answer) => Object.assign(outcome, { answer, settled: true }),
    (error: unknown) => Object.assign(outcome, { error, settled: true }),
  );
  // The waiter exists first, under the id the task will have; the task once its group commit is done.
  const created = async () => (await bare.store.tasks.list({ limit: 1000 })).length > tasksBefore;
  while (rpc.size() === waitingBefore && !outcome.settled) await nextTurn();
  while (!(await created())) await nextTurn();
  // The newest first.
  const taskId = (await bare.store.tasks.list({ limit: 1 }))[0]!.id;
  return { outcome, done, taskId: () => taskId };
}

describe('clampTimeoutSeconds', () => {
  it('defaults to 180 and clamps into [5, 300]', () => {
    expect([undefined, 0, -3, 4.9, 5, 42.5, 300, 301, 1e9].map((s) => clampTimeoutSeconds(s))).toEqual([
      180, 5, 5, 5, 5, 42.5, 300, 300, 300,
    ]);
  });
});

describe('rpc timeouts', () => {
  for (const [requested, seconds] of [[undefined, 180], [1000, 300], [0.5, 5]] as const) {
    it(`times out after ${seconds} s when asked for ${requested ?? 'nothing'}, cancelling the task`, async () => {
      const call = await start(requested === undefined ? {} : { timeoutSeconds: requested });
      await vi.advanceTimersByTimeAsync(seconds * 1000 - 1);
      expect(call.outcome.settled).toBe(false);
      expect(rpc.counts()).toEqual({ waiters: 1, timers: 1, polling: true });
      await vi.advanceTimersByTimeAsync(1);
      await call.done;
      expect(call.outcome.answer).toEqual({ taskId: call.taskId(), status: 'timeout' });
      expect((await bare.hub.tasks.get(boss, call.taskId())).status).toBe('cancelled');
      expect(rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
    });
  }

  it('answers with the real ending when the task finished in the same instant as the timeout', async () => {
    const call = await start({ timeoutSeconds: 5 });
    const id = call.taskId();
    await vi.advanceTimersByTimeAsync(4500);
    // Written behind the hub's back (as another process would) after the last poll: the timeout finds it first.
    await bare.store.tasks.transition(id, TRANSITIONS.complete.from, 'completed', { result: 7 }, Date.now());
    await vi.advanceTimersByTimeAsync(500);
    await call.done;
    expect(call.outcome.answer).toEqual({ taskId: id, status: 'completed', result: 7 });
  });
});

describe('rpc waiters', () => {
  it('polls the store only while someone waits, and resolves what another connection finished', async () => {
    const hubTimers = vi.getTimerCount(); // the hub's own: hourly pruning, presence heartbeat
    const call = await start();
    expect(vi.getTimerCount()).toBe(hubTimers + 2); // + the waiter's timeout + the poll
    const other = createSqliteStore(path.join(bare.dataDir, 'taskhub.db'));
    await other.tasks.transition(call.taskId(), TRANSITIONS.fail.from, 'failed', { error: 'elsewhere' }, Date.now());
    await other.close();
    await vi.advanceTimersByTimeAsync(POLL_MS - 1);
    expect(call.outcome.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await call.done;
    expect(call.outcome.answer).toEqual({ taskId: call.taskId(), status: 'failed', error: 'elsewhere' });
    expect(vi.getTimerCount()).toBe(hubTimers);
  });

  it('catches a task finished by a listener of its own task.assigned event at once: its waiter came first', async () => {
    const off = bare.hub.bus.subscribe((event) => {
      if (event.type === 'task.assigned') void bare.hub.tasks.complete(worker, event.taskId!, 'instant');
    });
    const call = await start();
    await call.done;
    off();
    expect(call.outcome.answer).toEqual({ taskId: call.taskId(), status: 'completed', result: 'instant' });
    expect(rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
  });

  it('resolves undefined and frees the waiter when the caller aborts, leaving the task open', async () => {
    const gone = new AbortController();
    const call = await start({ signal: gone.signal });
    gone.abort();
    await call.done;
    expect(call.outcome).toMatchObject({ settled: true, answer: undefined });
    expect(rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
    expect((await bare.hub.tasks.get(boss, call.taskId())).status).toBe('assigned');
  });

  it('answers every waiter shutting_down on close() and refuses new calls', async () => {
    const calls = [await start(), await start(), await start()];
    rpc.close();
    rpc.close();
    await Promise.all(calls.map((c) => c.done));
    for (const c of calls) expect(c.outcome.error).toMatchObject({ code: 'shutting_down' });
    expect(rpc.counts()).toEqual({ waiters: 0, timers: 0, polling: false });
    await expect(rpc.call(boss, { target: 'worker', task: 'late' })).rejects.toMatchObject({ code: 'shutting_down' });
    expect((await bare.hub.stats()).tasks.assigned).toBe(3);
  });
});
