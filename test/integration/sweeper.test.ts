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

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00.000Z') });
  start();
  bare.addAgents('boss', 'worker');
});
afterEach(() => {
  bare.close();
  vi.useRealTimers();
});

const create = (fields: { deadline?: number } = {}) => bare.hub.tasks.create(boss, { target: 'worker', task: 't', ...fields }).task;
const status = (id: string) => bare.hub.tasks.get(boss, id).status;
const eventsOf = (id: string) => events.filter((e) => e.taskId === id).map((e) => [e.type, e.recipients.join(',')]);
const dataOf = (e: HubEvent | undefined) => JSON.parse(e!.data) as { task: any; reason?: string };

describe('deadlines', () => {
  it('holds no timer while nothing is due', () => {
    create();
    create();
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });

  it('expires a task exactly at its deadline and tells the assigner', () => {
    const deadline = Date.now() + 10_000;
    const task = create({ deadline });
    expect(bare.hub.sweeper.armedFor()).toBe(deadline);
    vi.advanceTimersByTime(9_999);
    expect(status(task.id)).toBe('assigned');
    vi.advanceTimersByTime(1);
    const expired = bare.hub.tasks.get(boss, task.id);
    expect(expired).toMatchObject({ status: 'expired', completedAt: new Date(deadline).toISOString() });
    expect(eventsOf(task.id)).toEqual([['task.assigned', 'worker'], ['task.expired', 'boss']]);
    expect(dataOf(events.at(-1)).reason).toBe('deadline');
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });

  it('re-arms for a sooner deadline and then for the next one', () => {
    const later = create({ deadline: Date.now() + 60_000 });
    const sooner = create({ deadline: Date.now() + 5_000 });
    expect(bare.hub.sweeper.armedFor()).toBe(Date.now() + 5_000);
    vi.advanceTimersByTime(5_000);
    expect([status(sooner.id), status(later.id)]).toEqual(['expired', 'assigned']);
    expect(bare.hub.sweeper.armedFor()).toBe(Date.now() + 55_000);
    vi.advanceTimersByTime(55_000);
    expect(status(later.id)).toBe('expired');
  });

  it('never expires a task that was finished before its deadline', () => {
    const task = create({ deadline: Date.now() + 1_000 });
    vi.advanceTimersByTime(999);
    bare.hub.tasks.complete(worker, task.id, 'just in time');
    vi.advanceTimersByTime(1_000);
    expect(status(task.id)).toBe('completed');
    expect(eventsOf(task.id).map(([type]) => type)).toEqual(['task.assigned', 'task.completed']);
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });

  it('expires many tasks due at once in batches of 200, yielding to the event loop between them', () => {
    const deadline = Date.now() + 1_000;
    for (let i = 0; i < 450; i++) create({ deadline });
    vi.advanceTimersByTime(1_000);
    expect(bare.hub.stats().tasks).toMatchObject({ assigned: 250, expired: 200 });
    vi.advanceTimersByTime(10);
    expect(bare.hub.stats().tasks).toMatchObject({ assigned: 0, expired: 450 });
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });
});

describe('leases', () => {
  it('puts a task whose lease ran out back to assigned with attempts + 1 and delivers it again', () => {
    const task = create();
    const claimed = bare.hub.tasks.claim(worker, task.id, 30);
    expect(bare.hub.sweeper.armedFor()).toBe(Date.parse(claimed.leaseExpiresAt!));
    vi.advanceTimersByTime(29_999);
    expect(status(task.id)).toBe('claimed');
    vi.advanceTimersByTime(1);
    expect(bare.hub.tasks.get(boss, task.id)).toMatchObject({
      status: 'assigned',
      attempts: 1,
      claimedAt: null,
      leaseExpiresAt: null,
    });
    expect(eventsOf(task.id)).toEqual([['task.assigned', 'worker'], ['task.claimed', 'boss'], ['task.assigned', 'worker']]);
    expect(dataOf(events.at(-1)).reason).toBe('lease_expired');
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });

  it('renews the lease on progress', () => {
    const task = create();
    bare.hub.tasks.claim(worker, task.id, 30);
    vi.advanceTimersByTime(20_000);
    bare.hub.tasks.progress(worker, task.id, { progress: 0.5 });
    vi.advanceTimersByTime(29_999);
    expect(status(task.id)).toBe('in_progress');
    vi.advanceTimersByTime(1);
    expect(status(task.id)).toBe('assigned');
  });

  it('fails the task with lease_expired on the expiry that brings attempts to maxAttempts', () => {
    const task = create();
    for (let delivery = 1; delivery <= 3; delivery++) {
      bare.hub.tasks.claim(worker, task.id, 10);
      vi.advanceTimersByTime(10_000);
    }
    expect(bare.hub.tasks.get(boss, task.id)).toMatchObject({ status: 'failed', error: 'lease_expired', attempts: 3 });
    const types = eventsOf(task.id).map(([type]) => type);
    expect(types.filter((t) => t === 'task.assigned')).toHaveLength(3);
    expect(eventsOf(task.id).at(-1)).toEqual(['task.failed', 'boss']);
    expect(bare.hub.sweeper.armedFor()).toBeUndefined();
  });

  it('lets a deadline win over a lease that runs out at the same moment', () => {
    const task = create({ deadline: Date.now() + 10_000 });
    bare.hub.tasks.claim(worker, task.id, 10);
    vi.advanceTimersByTime(10_000);
    expect(bare.hub.tasks.get(boss, task.id)).toMatchObject({ status: 'expired', attempts: 0 });
  });

  it('sweeps what fell due while the hub was stopped as soon as it starts again', () => {
    const task = create();
    bare.hub.tasks.claim(worker, task.id, 10);
    const dataDir = bare.dataDir;
    bare.close({ keepData: true });
    vi.setSystemTime(Date.now() + 60_000);
    start({}, dataDir);
    expect(bare.hub.sweeper.armedFor()).toBeLessThan(Date.now());
    vi.advanceTimersByTime(0);
    expect(bare.hub.tasks.get(boss, task.id)).toMatchObject({ status: 'assigned', attempts: 1 });
  });
});
