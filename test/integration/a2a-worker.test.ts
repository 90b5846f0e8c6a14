import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TaskhubClient, type Worker } from '../../src/client/index.js';
import { addAgent, type Client } from '../helpers/api.js';
import { startRemoteAgent } from '../helpers/a2a-remote.js';
import { ensureBuilt, startCli, type RunningCli } from '../helpers/cli.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
let boss: Client & { name: string };
let bridge: Client & { name: string };
let remote: Awaited<ReturnType<typeof startRemoteAgent>>;
const workers: Worker[] = [];
const clis: RunningCli[] = [];

beforeAll(ensureBuilt, 180_000);
beforeEach(async () => {
  hub = await startTestHub();
  boss = await addAgent(hub, 'boss');
  bridge = await addAgent(hub, 'bridge', { capabilities: ['upper'] });
  remote = await startRemoteAgent();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ abort: true })));
  await Promise.all(clis.splice(0).map((c) => c.stop('SIGKILL')));
  await remote.close();
  await hub.stop();
});

const settled = (id: string) =>
  vi.waitFor(async () => {
    const task = (await boss.get(`/api/tasks/${id}`)).body.task;
    if (!['completed', 'failed'].includes(task.status)) throw new Error(`still ${task.status}`);
    return task;
  }, { timeout: 15_000, interval: 50 });

describe('remote A2A agents serve a capability', () => {
  it('the SDK worker option forwards each task and completes it with the remote answer, or fails it with the reason', async () => {
    const worker = new TaskhubClient({ url: hub.url, token: bridge.token }).worker({
      capabilities: {},
      a2a: { card: remote.url, capabilities: ['upper'] },
      stream: { minDelayMs: 100, maxDelayMs: 400 },
    });
    workers.push(worker);
    await worker.ready;
    const ok = (await boss.post('/api/tasks', { capability: 'upper', task: 'shout', payload: { n: 1 } })).body.task;
    expect(await settled(ok.id)).toMatchObject({ status: 'completed', result: { upper: 'SHOUT', data: { n: 1 } } });
    expect(remote.received).toEqual([`taskhub-${ok.id}`]);
    const bad = (await boss.post('/api/tasks', { capability: 'upper', task: 'fail' })).body.task;
    expect(await settled(bad.id)).toMatchObject({ status: 'failed', error: 'remote A2A agent: told to fail' });
  });

  it('taskhub worker --a2a <card url> does the same from the shell', async () => {
    const cli = startCli(['worker', '-c', 'upper', '--a2a', `${remote.url}/.well-known/agent-card.json`], { TASKHUB_URL: hub.url, TASKHUB_TOKEN: bridge.token });
    clis.push(cli);
    await vi.waitFor(() => expect(cli.stderr()).toContain('serving upper via A2A'), { timeout: 15_000 });
    const task = (await boss.post('/api/tasks', { capability: 'upper', task: 'hello' })).body.task;
    expect(await settled(task.id)).toMatchObject({ status: 'completed', result: { upper: 'HELLO', data: null } });
    expect(await cli.stop('SIGTERM')).toBe(0);
  });
});
