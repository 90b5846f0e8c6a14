import { describe, expect, it } from 'vitest';
import {
  LEASED_STATUSES,
  OPEN_STATUSES,
  TASK_STATUSES,
  TERMINAL_STATUSES,
  type TaskStatus,
} from '../../src/domain/task-status.js';
import type { Store, TaskRecord } from '../../src/store/store.js';
import { forEachStore } from './backends.js';
import { addAgents, newTask } from './fixtures.js';

/** One task in each status, moved there by the guarded transition, with a lease and a deadline at `at`. */
async function oneInEach(store: Store, at: number): Promise<Map<TaskStatus, TaskRecord>> {
  const byStatus = new Map<TaskStatus, TaskRecord>();
  for (const status of TASK_STATUSES) {
    const task = await store.tasks.insert(newTask({ id: `task-${status}`, deadline: at }));
    const moved =
      status === 'assigned'
        ? task
        : await store.tasks.transition(task.id, ['assigned'], status, { leaseExpiresAt: at }, 1_500);
    byStatus.set(status, moved!);
  }
  return byStatus;
}

const statusesOf = (tasks: TaskRecord[]) => tasks.map((t) => t.status).sort();

forEachStore((make) => {
  it('stores a task as given and finds it by id and by idempotency key', async () => {
    const { store } = await make();
    await store.tasks.insert(newTask({ id: 'before' }));
    const inserted = await store.tasks.insert(
      newTask({ id: 'a', kind: 'rpc', idempotencyKey: 'k1', payload: { deep: [1, 'two'] }, capability: 'echo',
        priority: 3, deadline: 9_000 }),
    );
    expect(inserted).toMatchObject({ id: 'a', kind: 'rpc', status: 'assigned', payload: { deep: [1, 'two'] }, attempts: 0,
      capability: 'echo', priority: 3, deadline: 9_000, createdAt: 1_000, updatedAt: 1_000, result: null,
      leaseExpiresAt: null });
    // What the insert returns is what the store holds, every column (the seq among them).
    expect(await store.tasks.get('a')).toEqual(inserted);
    expect(await store.tasks.findByIdempotencyKey('boss', 'k1')).toEqual(inserted);
    expect(await store.tasks.findByIdempotencyKey('someone else', 'k1')).toBeUndefined();
    await expect(store.tasks.insert(newTask({ idempotencyKey: 'k1' }))).rejects.toThrow();
  });

  it('transitions only from the statuses given, setting the patch and updatedAt', async () => {
    const { store } = await make();
    const task = await store.tasks.insert(newTask());
    expect(await store.tasks.transition(task.id, ['claimed'], 'completed', {}, 2_000)).toBeUndefined();
    const done = await store.tasks.transition(task.id, ['assigned'], 'completed', { result: { ok: true }, completedAt: 2_000 }, 2_000);
    expect(done).toMatchObject({ status: 'completed', result: { ok: true }, completedAt: 2_000, updatedAt: 2_000 });
    expect(await store.tasks.get(task.id)).toEqual(done);
    expect(await store.tasks.transition(task.id, OPEN_STATUSES, 'failed', {}, 3_000)).toBeUndefined();
    expect(await store.tasks.transition('unknown', TASK_STATUSES, 'failed', {}, 3_000)).toBeUndefined();
  });

  it('reads back every column where it was written, by each of its reads', async () => {
    const { store } = await make();
    // Every column a different value, so that two columns read into each other's fields fail.
    const task = await store.tasks.insert(newTask({ id: 'all', kind: 'rpc', task: 'the task', payload: { p: 1 },
      capability: 'cap', priority: 2, assigner: 'boss', target: 'worker', deadline: 10, idempotencyKey: 'key',
      createdAt: 11 }));
    const moved = await store.tasks.transition('all', ['assigned'], 'in_progress',
      { result: { r: 2 }, error: 'the error', attempts: 12, leaseExpiresAt: 13, leaseSeconds: 14, claimedAt: 15,
        completedAt: 16 }, 17);
    const expected: TaskRecord = { seq: task.seq, id: 'all', kind: 'rpc', task: 'the task', payload: { p: 1 },
      capability: 'cap', priority: 2, status: 'in_progress', assigner: 'boss', target: 'worker', deadline: 10,
      result: { r: 2 }, error: 'the error', attempts: 12, leaseExpiresAt: 13, leaseSeconds: 14, idempotencyKey: 'key',
      createdAt: 11, updatedAt: 17, claimedAt: 15, completedAt: 16 };
    expect(moved).toEqual(expected);
    expect(await store.tasks.get('all')).toEqual(expected);
    expect(await store.tasks.findByIdempotencyKey('boss', 'key')).toEqual(expected);
    expect(await store.tasks.openByTarget('worker')).toEqual([expected]);
    expect(await store.tasks.leasesDue(13, 10)).toEqual([expected]);
    expect(await store.tasks.deadlinesDue(10, 10)).toEqual([expected]);
    expect(await store.tasks.list({ limit: 10 })).toEqual([expected]);
  });

  it('answers the status questions with exactly the domain status sets', async () => {
    const { store } = await make();
    const byStatus = await oneInEach(store, 5_000);
    const ids = [...byStatus.values()].map((t) => t.id);
    expect(statusesOf(await store.tasks.openByTarget('worker'))).toEqual([...OPEN_STATUSES].sort());
    expect(statusesOf(await store.tasks.terminalAmong([...ids, 'unknown']))).toEqual([...TERMINAL_STATUSES].sort());
    expect(statusesOf(await store.tasks.leasesDue(5_000, 100))).toEqual([...LEASED_STATUSES].sort());
    expect(statusesOf(await store.tasks.deadlinesDue(5_000, 100))).toEqual([...OPEN_STATUSES].sort());
    expect(await store.tasks.leasesDue(4_999, 100)).toEqual([]);
    expect(await store.tasks.deadlinesDue(4_999, 100)).toEqual([]);
    expect(await store.tasks.nextLeaseExpiry()).toBe(5_000);
    expect(await store.tasks.nextDeadline()).toBe(5_000);
    expect(await store.tasks.countByStatus()).toEqual(Object.fromEntries(TASK_STATUSES.map((s) => [s, 1])));
    expect((await store.tasks.pending('worker', 10)).map((t) => t.status)).toEqual(['assigned']);
  });

  it('has no due times when nothing is open', async () => {
    const { store } = await make();
    expect(await store.tasks.nextLeaseExpiry()).toBeUndefined();
    expect(await store.tasks.nextDeadline()).toBeUndefined();
    expect(await store.tasks.terminalAmong([])).toEqual([]);
  });

  it('lists newest first by page, filtered by agent, role and status; pending urgent first', async () => {
    const { store } = await make();
    const low = await store.tasks.insert(newTask({ id: 'low', priority: 0 }));
    await store.tasks.insert(newTask({ id: 'urgent', priority: 3 }));
    await store.tasks.insert(newTask({ id: 'mine', assigner: 'worker', target: 'other' }));
    const page1 = await store.tasks.list({ limit: 2 });
    expect(page1.map((t) => t.id)).toEqual(['mine', 'urgent']);
    expect((await store.tasks.list({ limit: 2, beforeSeq: page1[1]!.seq })).map((t) => t.id)).toEqual(['low']);
    expect((await store.tasks.list({ agent: 'worker', limit: 10 })).map((t) => t.id)).toEqual(['mine', 'urgent', 'low']);
    expect((await store.tasks.list({ agent: 'worker', role: 'target', limit: 10 })).map((t) => t.id)).toEqual(['urgent', 'low']);
    await store.tasks.transition(low.id, ['assigned'], 'claimed', {}, 2_000);
    expect((await store.tasks.list({ status: 'claimed', limit: 10 })).map((t) => t.id)).toEqual(['low']);
    expect((await store.tasks.pending('worker', 10)).map((t) => t.id)).toEqual(['urgent']);
  });

  describe('agents', () => {
    it('registers an agent once, routes by capability and keeps token versions past removal', async () => {
      const { store } = await make();
      const created = await store.agents.insert({ name: 'w', capabilities: ['ocr', 'pdf'], email: 'W@Example.com',
        description: null, createdAt: 1_000 });
      expect(created).toMatchObject({ tokenVersion: 1, row: { name: 'w', lastSeen: null } });
      expect(await store.agents.insert({ name: 'w', capabilities: [], email: null, description: null, createdAt: 2 }))
        .toBeUndefined();
      expect(await store.agents.routingCandidates('ocr')).toEqual([{ name: 'w', openTasks: 0, lastAssignedAt: null }]);
      // Inserting a task assigns it: the target's lastAssignedAt is the task's createdAt.
      await store.tasks.insert(newTask({ target: 'w', createdAt: 5_000 }));
      expect(await store.agents.routingCandidates('ocr')).toEqual([{ name: 'w', openTasks: 1, lastAssignedAt: 5_000 }]);
      expect((await store.agents.findByEmail('w@example.COM')).map((a) => a.name)).toEqual(['w']);
      expect((await store.agents.contactOf('w'))?.email).toBe('W@Example.com');
      await store.agents.update('w', { capabilities: ['pdf'] });
      expect(await store.agents.routingCandidates('ocr')).toEqual([]);
      expect((await store.agents.list('pdf')).map((a) => a.name)).toEqual(['w']);
      // Read before each change too: a store that keeps a copy of the versions must drop it with the change.
      expect(await store.agents.tokenVersion('w')).toBe(1);
      expect(await store.agents.rotateToken('w')).toBe(2);
      expect(await store.agents.tokenVersion('w')).toBe(2);
      expect(await store.agents.remove('w')).toBe(true);
      expect(await store.agents.tokenVersion('w')).toBeUndefined();
      expect(await store.agents.rotateToken('w')).toBeUndefined();
      await addAgents(store, 'w');
      // A name created again never accepts the tokens of its earlier life.
      expect(await store.agents.tokenVersion('w')).toBe(3);
      expect(await store.agents.count()).toBe(1);
    });

    it('counts each candidate\'s open tasks through every kind of move', async () => {
      const { store } = await make();
      for (const name of ['w1', 'w2']) {
        await store.agents.insert({ name, capabilities: ['ocr'], email: null, description: null, createdAt: 1_000 });
      }
      const counted = async () =>
        Object.fromEntries((await store.agents.routingCandidates('ocr')).map((c) => [c.name, c.openTasks]));
      const expectCounts = async (w1: number, w2: number) => {
        expect(await counted()).toEqual({ w1, w2 });
        // The figure routing reads is the real count of open tasks, whatever the store keeps to answer it.
        expect([(await store.tasks.openByTarget('w1')).length, (await store.tasks.openByTarget('w2')).length])
          .toEqual([w1, w2]);
      };
      const [a, b, c] = [newTask({ target: 'w1' }), newTask({ target: 'w1' }), newTask({ target: 'w2' })];
      for (const task of [a, b, c]) await store.tasks.insert(task);
      await expectCounts(2, 1);
      await store.tasks.transition(a.id, ['assigned'], 'claimed', {}, 2_000); // open to open
      await store.tasks.transition(a.id, ['claimed'], 'assigned', {}, 2_000); // a lease ran out: still open
      await expectCounts(2, 1);
      await store.tasks.transition(a.id, OPEN_STATUSES, 'completed', {}, 3_000);
      await expect(store.tasks.transition(a.id, OPEN_STATUSES, 'failed', {}, 3_000)).resolves.toBeUndefined();
      await expectCounts(1, 1);
      // Moves from a list that holds terminal statuses too: terminal to terminal, then back to open.
      await store.tasks.transition(a.id, TASK_STATUSES, 'failed', {}, 4_000);
      await expectCounts(1, 1);
      await store.tasks.transition(a.id, ['failed'], 'assigned', {}, 4_000);
      await expectCounts(2, 1);
      await store.tasks.transition(c.id, TASK_STATUSES, 'cancelled', {}, 5_000);
      await expectCounts(2, 0);
      // Removed with its tasks left open (the hub fails them first; the store alone does not), then registered
      // again: the new agent starts from the tasks that still name it.
      expect(await store.agents.remove('w1')).toBe(true);
      await store.agents.insert({ name: 'w1', capabilities: ['ocr'], email: null, description: null, createdAt: 6_000 });
      await expectCounts(2, 0);
      // A transaction that rolls back leaves the count as it was.
      await expect(store.transaction(async (tx) => {
        await tx.tasks.insert(newTask({ target: 'w2' }));
        await tx.tasks.transition(b.id, ['assigned'], 'completed', {}, 7_000);
        throw new Error('rolled back');
      })).rejects.toThrow('rolled back');
      await expectCounts(2, 0);
    });
  });
});
