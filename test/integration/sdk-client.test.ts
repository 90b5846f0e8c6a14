import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionError, HttpError, TaskhubClient } from '../../src/client/index.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { rejection } from '../helpers/promises.js';

let hub: TestHub;
let admin: TaskhubClient;

/** Registers an agent through the SDK and returns a client acting as it. */
async function agentClient(name: string, capabilities: string[] = [], pollMs?: number): Promise<TaskhubClient> {
  const { token } = await admin.createAgent({ name, capabilities });
  return new TaskhubClient({ url: hub.url, token, ...(pollMs !== undefined && { pollMs }) });
}


beforeEach(async () => {
  hub = await startTestHub();
  admin = new TaskhubClient({ url: `${hub.url}/`, token: hub.adminToken });
});
afterEach(async () => {
  await hub.stop();
});

describe('SDK: REST calls', () => {
  it('manages agents as an admin', async () => {
    const { agent, token } = await admin.createAgent({ name: 'writer', capabilities: ['write'], description: 'w' });
    expect(agent).toMatchObject({ name: 'writer', capabilities: ['write'], description: 'w', connected: false });
    expect(token).toMatch(/^ey/);
    expect((await admin.agents({ capability: 'write' })).map((a) => a.name)).toEqual(['writer']);
    expect(await admin.agents({ capability: 'none' })).toEqual([]);
    expect((await admin.updateAgent('writer', { capabilities: ['edit'] })).capabilities).toEqual(['edit']);
    const fresh = await admin.rotateToken('writer');
    expect((await new TaskhubClient({ url: hub.url, token: fresh }).agent('writer')).name).toBe('writer');
    const stale = await rejection(new TaskhubClient({ url: hub.url, token }).agent('writer'));
    expect(stale).toBeInstanceOf(HttpError);
    expect(stale).toMatchObject({ status: 401, code: 'unauthorized' });
    await admin.removeAgent('writer');
    expect(await admin.agents()).toEqual([]);
  });

  it('runs a task through its whole life', async () => {
    const boss = await agentClient('boss');
    const worker = await agentClient('worker', ['sum']);
    const deadline = new Date(Date.now() + 60_000);
    const task = await boss.assignTask({ capability: 'sum', task: 'add', payload: { a: 1, b: 2 }, priority: 'high', deadline });
    expect(task).toMatchObject({ status: 'assigned', target: 'worker', assigner: 'boss', priority: 'high', kind: 'task' });
    expect(task.deadline).toBe(deadline.toISOString());

    expect((await worker.pendingTasks()).map((t) => t.id)).toEqual([task.id]);
    expect((await worker.claimTask(task.id, { leaseSeconds: 30 })).status).toBe('claimed');
    expect((await worker.progress(task.id, 'halfway')).status).toBe('in_progress');
    expect((await worker.progress(task.id, { progress: 0.9 })).status).toBe('in_progress');
    const done = await worker.completeTask(task.id, { sum: 3 });
    expect(done).toMatchObject({ status: 'completed', result: { sum: 3 } });

    expect(await boss.getTask(task.id)).toMatchObject({ status: 'completed', result: { sum: 3 } });
    const history = await boss.taskEvents(task.id);
    expect(history.map((e) => e.type)).toEqual([
      'task.assigned',
      'task.claimed',
      'task.progress',
      'task.progress',
      'task.completed',
    ]);
    expect(history[2]!.progress).toEqual({ message: 'halfway', progress: null });
    expect(await worker.pendingTasks()).toEqual([]);
  });

  it('lists tasks by role and status with cursors', async () => {
    const boss = await agentClient('boss');
    await agentClient('w');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await boss.assignTask({ target: 'w', task: `t${i}` })).id);
    await boss.cancelTask(ids[0]!);

    const first = await boss.listTasks({ role: 'assigner', limit: 2 });
    expect(first.tasks.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    expect(first.nextCursor).not.toBeNull();
    const second = await boss.listTasks({ role: 'assigner', limit: 2, cursor: first.nextCursor! });
    expect(second).toEqual({ tasks: [expect.objectContaining({ id: ids[0], status: 'cancelled' })], nextCursor: null });
    expect((await boss.listTasks({ status: 'cancelled' })).tasks.map((t) => t.id)).toEqual([ids[0]]);
  });

  it('fails a task, and retries it when asked', async () => {
    const boss = await agentClient('boss');
    const w = await agentClient('w');
    const task = await boss.assignTask({ target: 'w', task: 'flaky' });
    await w.claimTask(task.id);
    const retried = await w.failTask(task.id, 'try again', { retry: true });
    expect(retried).toMatchObject({ status: 'assigned', attempts: 1 });
    const failed = await w.failTask(task.id, 'broken');
    expect(failed).toMatchObject({ status: 'failed', error: 'broken' });
  });

  it('returns the first task for a repeated idempotency key', async () => {
    const boss = await agentClient('boss');
    await agentClient('w');
    const a = await boss.assignTask({ target: 'w', task: 'once', idempotencyKey: 'k1' });
    const b = await boss.assignTask({ target: 'w', task: 'once', idempotencyKey: 'k1' });
    expect(b.id).toBe(a.id);
  });

  it('waits for a task until it is terminal, or returns it as it is at the timeout', async () => {
    const boss = await agentClient('boss', [], 50);
    const w = await agentClient('w');
    const task = await boss.assignTask({ target: 'w', task: 'x' });
    expect((await boss.waitForTask(task.id, { timeoutMs: 200 })).status).toBe('assigned');
    const waiting = boss.waitForTask(task.id, { timeoutMs: 10_000 });
    await w.completeTask(task.id, 'ok');
    expect(await waiting).toMatchObject({ status: 'completed', result: 'ok' });
  });

  it('rejects with typed errors carrying the contract code', async () => {
    const boss = await agentClient('boss');
    const w = await agentClient('w');
    const cases: [Promise<unknown>, number, string][] = [
      [boss.getTask('00000000-0000-4000-8000-000000000000'), 404, 'not_found'],
      [boss.assignTask({ task: 'nowhere' }), 400, 'validation_failed'],
      [boss.assignTask({ capability: 'nobody-has-it', task: 'x' }), 422, 'no_agent_for_capability'],
      [boss.createAgent({ name: 'x' }), 403, 'forbidden'],
      [admin.createAgent({ name: 'w' }), 409, 'conflict'],
      [boss.progress('not-a-task', { progress: 2 }), 400, 'validation_failed'],
    ];
    for (const [promise, status, code] of cases) {
      const error = await rejection(promise);
      expect(error, code).toBeInstanceOf(HttpError);
      expect(error, code).toMatchObject({ status, code });
      expect(error.message.length).toBeGreaterThan(5);
    }
    const invalid = await rejection(boss.assignTask({ task: '' }));
    expect(invalid.details.map((d: { path: string }) => d.path)).toContain('body.task');

    const task = await boss.assignTask({ target: 'w', task: 'x' });
    await w.completeTask(task.id);
    expect(await rejection(w.claimTask(task.id))).toMatchObject({ status: 409, code: 'invalid_transition' });
    expect(await rejection(boss.completeTask(task.id))).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('sends messages, reads the inbox and threads, and marks messages read', async () => {
    const a = await agentClient('a');
    const b = await agentClient('b');
    await agentClient('c');
    const [first] = await a.sendMessage({ to: 'b', subject: 'hello', body: 'are you there?' });
    expect(first).toMatchObject({ from: 'a', to: 'b', subject: 'hello', readAt: null });
    const replies = await b.sendMessage({ to: ['a', 'c'], subject: 're: hello', body: 'yes', inReplyTo: first!.id });
    expect(replies.map((m) => m.to)).toEqual(['a', 'c']);
    expect(new Set(replies.map((m) => m.threadId))).toEqual(new Set([first!.threadId]));
    expect((await a.sendMessage({ to: 'ALL', subject: 'all', body: 'hi all' })).map((m) => m.to)).toEqual(['b', 'c']);

    const unread = await a.inbox({ unread: true });
    expect(unread.messages.map((m) => m.subject)).toEqual(['re: hello']);
    expect((await a.markRead(unread.messages[0]!.id)).readAt).not.toBeNull();
    expect((await a.inbox({ unread: true })).messages).toEqual([]);
    const page = await b.inbox({ limit: 1 });
    expect(page.messages).toHaveLength(1);
    expect(page.nextCursor).not.toBeNull();
    expect((await b.inbox({ markRead: true })).messages).toHaveLength(2);
    expect((await b.inbox({ unread: true })).messages).toEqual([]);

    const thread = await a.thread(first!.threadId);
    expect(thread).toMatchObject({ threadId: first!.threadId, subject: 'hello' });
    expect(thread.messages.map((m) => m.body)).toEqual(['are you there?', 'yes', 'yes']);
  });

  it('passes a rate limit on as HttpError 429 with retryAfterSeconds', async () => {
    const limited = await startTestHub({ TASKHUB_RATE_LIMIT: '2' });
    try {
      const limitedAdmin = new TaskhubClient({ url: limited.url, token: limited.adminToken });
      const a = new TaskhubClient({ url: limited.url, token: (await limitedAdmin.createAgent({ name: 'a' })).token });
      await limitedAdmin.createAgent({ name: 'b' });
      await a.sendMessage({ to: 'b', subject: '1', body: '1' });
      await a.assignTask({ target: 'b', task: '2' });
      const error = await rejection(a.sendMessage({ to: 'b', subject: '3', body: '3' }));
      expect(error).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(error.retryAfterSeconds).toBeGreaterThan(0);
    } finally {
      await limited.stop();
    }
  });

  it('says ConnectionError when nothing answers', async () => {
    const dead = new TaskhubClient({ url: 'http://127.0.0.1:9', token: 't' });
    const error = await rejection(dead.agents());
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain('http://127.0.0.1:9');
  });

  it('refuses to be built without url or token', () => {
    expect(() => new TaskhubClient({ url: '', token: 't' })).toThrow(/url/);
    expect(() => new TaskhubClient({ url: hub.url, token: '' })).toThrow(/token/);
  });
});
