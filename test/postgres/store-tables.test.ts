import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.js';
import type { NewTask } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';

const newTask = (over: Partial<NewTask> = {}): NewTask => ({
  id: `t-${Math.random().toString(36).slice(2)}`,
  kind: 'task', task: 'do it', payload: { b: 1, a: [2] }, capability: null, priority: 1,
  assigner: 'caller', target: 'worker', deadline: null, idempotencyKey: null, createdAt: 1000, ...over,
});

// The PostgreSQL-only details of the store (the shared contract suite covers the behaviour both stores share).
describe('PostgreSQL store tables', () => {
  let db: TestDatabase | undefined;
  let store: PostgresStore | undefined;
  afterEach(async () => {
    await store?.close();
    await db?.drop();
  });
  const open = async () => {
    db = await createTestDatabase();
    return (store = await openPostgresStore(db.url, { max: 3 }));
  };

  it('round-trips every column: numbers as numbers, JSON byte for byte, names in byte order', async () => {
    const s = await open();
    for (const name of ['b', 'B', 'a']) {
      await s.agents.insert({ name, capabilities: ['x', 'x', 'y'], email: `${name}@Ex.com`, description: null, createdAt: 5 });
    }
    expect((await s.agents.list()).map((a) => a.name)).toEqual(['B', 'a', 'b']);
    expect((await s.agents.list('y')).length).toBe(3);
    expect((await s.agents.findByEmail('A@ex.COM')).map((a) => a.name)).toEqual(['a']);
    expect(await s.agents.count()).toBe(3);
    expect(await s.agents.rotateToken('a')).toBe(2);
    expect(await s.agents.tokenVersion('a')).toBe(2);
    expect(await s.agents.rotateToken('nobody')).toBeUndefined();
    const task = await s.tasks.insert(newTask({ deadline: 2 ** 41 }));
    expect(task).toMatchObject({ status: 'assigned', payload: { b: 1, a: [2] }, deadline: 2 ** 41, updatedAt: 1000 });
    expect(typeof task.seq).toBe('number');
    const claimed = await s.tasks.transition(task.id, ['assigned'], 'claimed', { claimedAt: 1100, leaseExpiresAt: 5000, attempts: 1 }, 1100);
    expect(claimed).toMatchObject({ status: 'claimed', attempts: 1, leaseExpiresAt: 5000, updatedAt: 1100 });
    expect(await s.tasks.transition(task.id, ['assigned'], 'claimed', {}, 1200)).toBeUndefined();
    expect(await s.tasks.nextLeaseExpiry()).toBe(5000);
    expect((await s.tasks.leasesDue(5000, 10)).map((t) => t.id)).toEqual([task.id]);
    expect(await s.tasks.nextDeadline()).toBe(2 ** 41);
    const done = await s.tasks.transition(task.id, ['claimed'], 'completed', { result: { ok: true }, completedAt: 1300 }, 1300);
    expect(done?.result).toEqual({ ok: true });
    expect((await s.tasks.terminalAmong([task.id, 'nope'])).map((t) => t.id)).toEqual([task.id]);
    expect(await s.tasks.countByStatus()).toEqual({ completed: 1 });
    expect(await s.tasks.nextLeaseExpiry()).toBeUndefined();
  });

  it('lists tasks, messages and events by their cursors', async () => {
    const s = await open();
    const tasks = [];
    for (let i = 0; i < 3; i++) tasks.push(await s.tasks.insert(newTask({ priority: i === 1 ? 3 : 1, idempotencyKey: `k${i}` })));
    expect((await s.tasks.pending('worker', 10)).map((t) => t.id)).toEqual([tasks[1]!.id, tasks[0]!.id, tasks[2]!.id]);
    expect((await s.tasks.list({ agent: 'worker', role: 'target', beforeSeq: tasks[2]!.seq, limit: 1 }))[0]?.id).toBe(tasks[1]!.id);
    expect((await s.tasks.findByIdempotencyKey('caller', 'k2'))?.id).toBe(tasks[2]!.id);
    const e1 = await s.events.append({ type: 'task.assigned', at: 1, taskId: tasks[0]!.id, taskSeq: tasks[0]!.seq, recipients: ['worker', 'worker'], data: '{"z":1,"a":2}' });
    await s.events.append({ type: 'x', at: 50, taskId: null, recipients: ['other'], data: '{}' });
    expect(await s.events.listForAgent('worker', 0, 10)).toEqual([{ id: e1.id, type: 'task.assigned', at: 1, taskId: tasks[0]!.id, recipients: ['worker'], data: '{"z":1,"a":2}' }]);
    expect((await s.events.listForTask(tasks[0]!.seq, 0, 10)).events.map((e) => e.id)).toEqual([e1.id]);
    expect(await s.events.pruneBefore(10)).toBe(e1.id);
    expect(await s.events.prunedThrough()).toBe(e1.id);
    expect(await s.events.listForAgent('worker', 0, 10)).toEqual([]);
    expect((await s.events.listAll(0, 10)).length).toBe(2);
    for (const to of ['b', 'c']) {
      await s.messages.insert({ id: `m-${to}`, threadId: 'th', from: 'a', to, subject: 's', body: 'hi', inReplyTo: null, createdAt: 1 });
    }
    expect(await s.messages.participants('th')).toEqual(['a', 'b', 'c']);
    expect(await s.messages.isParticipant('th', 'c')).toBe(true);
    expect((await s.messages.markRead('m-b', 9))?.readAt).toBe(9);
    expect(await s.messages.markRead('m-b', 10)).toBeUndefined();
    expect((await s.messages.inbox({ recipient: 'b', unreadOnly: true, limit: 5 })).length).toBe(0);
    await s.devMailbox.add([1, 2, 3].map((n) => ({ from: 'f', to: 'r@x', subject: `s${n}`, headers: { n: String(n) }, text: 't', json: null, receivedAt: n })), { maxMails: 2, maxBytes: 1e6 });
    expect((await s.devMailbox.listPreviews({ limit: 10, to: 'R@X', previewChars: 10 })).map((m) => m.subject)).toEqual(['s3', 's2']);
    expect(await s.outbox.instanceId()).toBe(await s.outbox.instanceId());
  });

  it('rolls a transaction back whole when fn throws, and refuses a tx used after it settled', async () => {
    const s = await open();
    let leaked: Parameters<Parameters<typeof s.transaction>[0]>[0] | undefined;
    await expect(
      s.transaction(async (tx) => {
        leaked = tx;
        await tx.tasks.insert(newTask({ id: 'rolled-back' }));
        await tx.events.append({ type: 'x', at: 1, taskId: null, recipients: ['worker'], data: '{}' });
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await s.tasks.get('rolled-back')).toBeUndefined();
    expect(await s.events.lastId()).toBe(0);
    await expect(leaked!.tasks.get('x')).rejects.toThrow(/transaction is over/);
  });
});
