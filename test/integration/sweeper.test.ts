// Not faked by vi.useFakeTimers (which replaces the globals): the store's group commit runs on it too.
import { setImmediate as realImmediate } from 'node:timers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HubEvent } from '../../src/domain/types.js';
import { agent, startBareHub, type BareHub } from '../helpers/bare-hub.js';

// Tests about time: fake timers drive the sweeper's one timer and the hub's clock.
const boss = agent('boss');
const worker = agent('worker');
let bare: BareHub;
let events: HubEvent[];

const start = (options: Parameters<typeof startBareHub>[0] = {}, dataDir?: string) => {
  bare = startBareHub(options, dataDir);
  events = [];
  bare.hub.bus.subscribe((event) => events.push(event));
};

beforeEach(async () => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00.000Z') });
  start();
  await bare.addAgents('boss', 'worker');
});
afterEach(async () => {
  await bare.close();
  vi.useRealTimers();
});

const nextTurn = () => new Promise((resolve) => realImmediate(resolve));
/** Moves the clock, then waits for what its timers started (a sweep, its commit, the re-arm) to finish. */
const advance = async (ms: number) => {
  vi.advanceTimersByTime(ms);
  await bare.hub.sweeper.idle();
  await nextTurn();
};
const create = async (fields: { deadline?: number } = {}) =>
  (await bare.hub.tasks.create(boss, { target: 'worker', task: 't', ...fields })).task;
const status = async (id: string) => (await bare.hub.tasks.get(boss, id)).status;
const eventsOf = (id: string) => events.filter((e) => e.taskId === id).map((e) => [e.type, e.recipients.join(',')]);
const dataOf = (e: HubEvent | undefined) => JSON.parse(e!.data) as { task: any; reason?: string };

describe('deadlines', () => {
  it('holds no timer while nothing is due', async () => {
    await create();
    await create();
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });

  it('expires a task exactly at its deadline and tells the assigner', async () => {
    const deadline = Date.now() + 10_000;
    const task = await create({ deadline });
    expect(bare.hub.sweeper.armedFor()).toBe(deadline);
    await advance(9_999);
    expect((await status(task.id))).toBe('assigned');
    await advance(1);
    const expired = await bare.hub.tasks.get(boss, task.id);
    expect(expired).toMatchObject({ status: 'expired', completedAt: new Date(deadline).toISOString() });
    expect(eventsOf(task.id)).toEqual([['task.assigned', 'worker'], ['task.expired', 'boss']]);
    expect(dataOf(events.at(-1)).reason).toBe('deadline');
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });

  it('re-arms for a sooner deadline and then for the next one', async () => {
    const later = await create({ deadline: Date.now() + 60_000 });
    const sooner = await create({ deadline: Date.now() + 5_000 });
    expect(bare.hub.sweeper.armedFor()).toBe(Date.now() + 5_000);
    await advance(5_000);
    expect([(await status(sooner.id)), (await status(later.id))]).toEqual(['expired', 'assigned']);
    expect(bare.hub.sweeper.armedFor()).toBe(Date.now() + 55_000);
    await advance(55_000);
    expect((await status(later.id))).toBe('expired');
  });

  it('never expires a task that was finished before its deadline', async () => {
    const task = await create({ deadline: Date.now() + 1_000 });
    await advance(999);
    await bare.hub.tasks.complete(worker, task.id, 'just in time');
    await advance(1_000);
    expect((await status(task.id))).toBe('completed');
    expect(eventsOf(task.id).map(([type]) => type)).toEqual(['task.assigned', 'task.completed']);
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });

  it('expires many tasks due at once in batches of 200, yielding to the event loop between them', async () => {
    const deadline = Date.now() + 1_000;
    for (let i = 0; i < 450; i++) await create({ deadline });
    await advance(1_000);
    expect((await bare.hub.stats()).tasks).toMatchObject({ assigned: 250, expired: 200 });
    // The next batch is due at once (a 0 ms timer): each turn of the clock sweeps one more.
    await advance(0);
    expect((await bare.hub.stats()).tasks).toMatchObject({ assigned: 50, expired: 400 });
    await advance(0);
    expect((await bare.hub.stats()).tasks).toMatchObject({ assigned: 0, expired: 450 });
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });
});

describe('leases', () => {
  it('puts a task whose lease ran out back to assigned with attempts + 1 and delivers it again', async () => {
    const task = await create();
    const claimed = await bare.hub.tasks.claim(worker, task.id, 30);
    expect(bare.hub.sweeper.armedFor()).toBe(Date.parse(claimed.leaseExpiresAt!));
    await advance(29_999);
    expect((await status(task.id))).toBe('claimed');
    await advance(1);
    expect(await bare.hub.tasks.get(boss, task.id)).toMatchObject({
      status: 'assigned',
      attempts: 1,
      claimedAt: null,
      leaseExpiresAt: null,
    });
    expect(eventsOf(task.id)).toEqual([['task.assigned', 'worker'], ['task.claimed', 'boss'], ['task.assigned', 'worker']]);
    expect(dataOf(events.at(-1)).reason).toBe('lease_expired');
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });

  it('renews the lease on progress', async () => {
    const task = await create();
    await bare.hub.tasks.claim(worker, task.id, 30);
    await advance(20_000);
    await bare.hub.tasks.progress(worker, task.id, { progress: 0.5 });
    await advance(29_999);
    expect((await status(task.id))).toBe('in_progress');
    await advance(1);
    expect((await status(task.id))).toBe('assigned');
  });

  it('fails the task with lease_expired on the expiry that brings attempts to maxAttempts', async () => {
    const task = await create();
    for (let delivery = 1; delivery <= 3; delivery++) {
      await bare.hub.tasks.claim(worker, task.id, 10);
      await advance(10_000);
    }
    expect(await bare.hub.tasks.get(boss, task.id)).toMatchObject({ status: 'failed', error: 'lease_expired', attempts: 3 });
    const types = eventsOf(task.id).map(([type]) => type);
    expect(types.filter((t) => t === 'task.assigned')).toHaveLength(3);
    expect(eventsOf(task.id).at(-1)).toEqual(['task.failed', 'boss']);
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });

  it('lets a deadline win over a lease that runs out at the same moment', async () => {
    const task = await create({ deadline: Date.now() + 10_000 });
    await bare.hub.tasks.claim(worker, task.id, 10);
    await advance(10_000);
    expect(await bare.hub.tasks.get(boss, task.id)).toMatchObject({ status: 'expired', attempts: 0 });
  });

  it('sweeps what fell due while the hub was stopped as soon as it starts again', async () => {
    const task = await create();
    await bare.hub.tasks.claim(worker, task.id, 10);
    const dataDir = bare.dataDir;
    await bare.close({ keepData: true });
    vi.setSystemTime(Date.now() + 60_000);
    start({}, dataDir);
    await bare.hub.sweeper.idle();
    expect(bare.hub.sweeper.armedFor()).toBeLessThan(Date.now());
    await advance(0);
    expect(await bare.hub.tasks.get(boss, task.id)).toMatchObject({ status: 'assigned', attempts: 1 });
  });
});
