import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpError, TaskhubClient, type HubEvent, type OpenInfo, type SubscribeOptions } from '../../src/client/index.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';

let hub: TestHub;
let proxy: Proxy;
let admin: TaskhubClient;
let boss: TaskhubClient;
let workerToken: string;
let bossToken: string;

const WAIT = { timeout: 15_000, interval: 20 };

beforeEach(async () => {
  hub = await startTestHub();
  proxy = await startProxy(hub.url);
  admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
  bossToken = (await admin.createAgent({ name: 'boss' })).token;
  boss = new TaskhubClient({ url: hub.url, token: bossToken });
  workerToken = (await admin.createAgent({ name: 'w' })).token;
});
afterEach(async () => {
  await proxy.close();
  await hub.stop();
});

/** Subscribes as the worker agent through the proxy and records what arrives. */
function watch(options: SubscribeOptions = {}, url = proxy.url, token = workerToken) {
  const events: HubEvent[] = [];
  const opens: OpenInfo[] = [];
  const errors: { error: Error; fatal: boolean }[] = [];
  const client = new TaskhubClient({ url, token });
  const sub = client.subscribe((e) => void events.push(e), {
    minDelayMs: 100,
    maxDelayMs: 400,
    ...options,
    onOpen: (info) => opens.push(info),
    onError: (error, { fatal }) => errors.push({ error, fatal }),
  });
  return { events, opens, errors, sub, assigned: () => events.filter((e) => e.type === 'task.assigned').map((e) => e.task!.task) };
}

const assign = (task: string) => boss.assignTask({ target: 'w', task });

describe('SDK: subscribe', () => {
  it('delivers the caller\'s events in order after a ready', async () => {
    const s = watch();
    await s.sub.ready;
    expect(s.opens).toEqual([{ agent: 'w', lastEventId: expect.any(Number), reconnected: false }]);
    const task = await assign('one');
    await boss.cancelTask(task.id);
    await vi.waitFor(() => expect(s.events.map((e) => e.type)).toEqual(['task.assigned', 'task.cancelled']), WAIT);
    expect(s.events[0]).toMatchObject({ taskId: task.id, task: { id: task.id, status: 'assigned' } });
    expect(s.events[1]!.id).toBeGreaterThan(s.events[0]!.id);
    expect(s.sub.lastEventId).toBe(s.events[1]!.id);
    s.sub.close();
    s.sub.close();
    expect(s.sub.closed).toBe(true);
  });

  it('delivers messages as `message` events carrying the message', async () => {
    const s = watch({}, hub.url);
    await s.sub.ready;
    const [sent] = await boss.sendMessage({ to: 'w', subject: 'ping', body: 'pong?' });
    await vi.waitFor(() => expect(s.events.map((e) => e.type)).toEqual(['message']), WAIT);
    expect(s.events[0]!.message).toMatchObject({ id: sent!.id, from: 'boss', subject: 'ping', body: 'pong?' });
    s.sub.close();
  });

  it('reconnects after the connection is cut and resumes without gap or duplicate', async () => {
    const s = watch();
    await s.sub.ready;
    await assign('before');
    await vi.waitFor(() => expect(s.assigned()).toEqual(['before']), WAIT);
    proxy.refuse(true);
    proxy.cut();
    await vi.waitFor(() => expect(s.errors.length).toBeGreaterThan(0), WAIT);
    await assign('during-1');
    await assign('during-2');
    proxy.refuse(false);
    await assign('after');
    await vi.waitFor(() => expect(s.assigned()).toEqual(['before', 'during-1', 'during-2', 'after']), WAIT);
    expect(s.opens.at(-1)!.reconnected).toBe(true);
    expect(s.errors.every((e) => !e.fatal)).toBe(true);
    s.sub.close();
  });

  it('resumes from the ready frame\'s id when the stream drops before its first event', async () => {
    await assign('old');
    const s = watch();
    await s.sub.ready;
    proxy.refuse(true);
    proxy.cut();
    await vi.waitFor(() => expect(s.errors.length).toBeGreaterThan(0), WAIT);
    await assign('missed-unless-resumed');
    proxy.refuse(false);
    await vi.waitFor(() => expect(s.assigned()).toEqual(['missed-unless-resumed']), WAIT);
    expect(s.opens).toHaveLength(2);
    s.sub.close();
  });

  it('survives a hub restart on the same data dir, resuming where it was', async () => {
    const s = watch();
    await s.sub.ready;
    await assign('first life');
    await vi.waitFor(() => expect(s.assigned()).toEqual(['first life']), WAIT);
    proxy.refuse(true);
    await hub.stop({ keepData: true });
    hub = await startTestHub({}, hub.dataDir);
    proxy.retarget(hub.url);
    boss = new TaskhubClient({ url: hub.url, token: bossToken });
    await assign('second life');
    proxy.refuse(false);
    await vi.waitFor(() => expect(s.assigned()).toEqual(['first life', 'second life']), WAIT);
    s.sub.close();
  });

  it('stops for good, reporting the hub\'s code, when the token is revoked', async () => {
    const s = watch({}, hub.url);
    await s.sub.ready;
    await admin.rotateToken('w');
    await vi.waitFor(() => expect(s.sub.closed).toBe(true), WAIT);
    const fatal = s.errors.find((e) => e.fatal)!;
    expect(fatal.error).toBeInstanceOf(HttpError);
    expect(fatal.error).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('rejects ready when the first stream is refused', async () => {
    const s = watch({}, hub.url, 'not-a-token');
    await expect(s.sub.ready).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(s.sub.closed).toBe(true);
  });

  it('resumes after a saved lastEventId, and passes a reset on when that id is unknown', async () => {
    const s1 = watch({}, hub.url);
    await s1.sub.ready;
    await assign('a');
    await vi.waitFor(() => expect(s1.assigned()).toEqual(['a']), WAIT);
    const saved = s1.sub.lastEventId!;
    s1.sub.close();
    await assign('b');
    const s2 = watch({ lastEventId: saved }, hub.url);
    await vi.waitFor(() => expect(s2.assigned()).toEqual(['b']), WAIT);
    s2.sub.close();

    const s3 = watch({ lastEventId: saved + 1000 }, hub.url);
    await vi.waitFor(() => expect(s3.events.map((e) => e.type)).toEqual(['reset']), WAIT);
    expect(s3.sub.lastEventId).toBe(s2.sub.lastEventId);
    s3.sub.close();
  });
});
