import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskState } from '@a2a-js/sdk';
import { TaskhubClient } from '../../src/client/index.js';
import type { Worker } from '../../src/client/index.js';
import { addAgent, type Client } from '../helpers/api.js';
import { a2aClient, sendParams, userMessage } from '../helpers/a2a.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
let boss: Client & { name: string };
let worker: Client & { name: string };
const workers: Worker[] = [];

beforeEach(async () => {
  hub = await startTestHub({ TASKHUB_RPC_POLL_MS: '100' });
  boss = await addAgent(hub, 'boss');
  worker = await addAgent(hub, 'worker', { capabilities: ['echo'] });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await hub.stop();
});

async function nextPending(client: Client = worker): Promise<any> {
  let task: any;
  await expect.poll(async () => (task = (await client.get('/api/tasks/pending')).body.tasks[0]), { timeout: 10_000 }).toBeDefined();
  return task;
}

/** Each stream item as `kind:state` (or `artifact:<value>`), with a status message's text when there is one. */
function describeItem(item: any): string {
  const { $case, value } = item.payload;
  if ($case === 'task') return `task:${TaskState[value.status.state]}`;
  if ($case === 'artifactUpdate') return `artifact:${JSON.stringify(value.artifact.parts[0].content.value)}`;
  const text = value.status.message?.parts[0]?.content?.value;
  return `status:${TaskState[value.status.state]}${text ? `(${text})` : ''}`;
}

async function collect(stream: AsyncIterable<unknown>, into: string[]): Promise<void> {
  for await (const item of stream) into.push(describeItem(item));
}

describe('A2A streams with the official client', () => {
  it('SendStreamingMessage shows claimed, working with the progress message, completed with the artifact (via /api)', async () => {
    const client = await a2aClient(`${hub.url}/a2a/agents/worker/`, boss.token);
    const seen: string[] = [];
    const done = collect(client.sendMessageStream(sendParams(userMessage('s-1', 'stream me'))), seen);
    const task = await nextPending();
    await worker.post(`/api/tasks/${task.id}/claim`);
    await worker.post(`/api/tasks/${task.id}/progress`, { message: 'half way', progress: 0.5 });
    await worker.post(`/api/tasks/${task.id}/complete`, { result: 'done!' });
    await done;
    expect(seen).toEqual([
      'task:TASK_STATE_SUBMITTED',
      'status:TASK_STATE_SUBMITTED(Claimed by worker.)',
      'status:TASK_STATE_WORKING(half way)',
      'artifact:"done!"',
      'status:TASK_STATE_COMPLETED',
    ]);
  });

  it('a task sent over A2A is done by the taskhub SDK worker, and SubscribeToTask follows it to the end', async () => {
    const w = new TaskhubClient({ url: hub.url, token: worker.token }).worker({
      stream: { minDelayMs: 100, maxDelayMs: 400 },
      capabilities: {
        echo: async (payload: { text: string }, ctx) => {
          await ctx.progress({ message: 'echoing', progress: 0.5 });
          return payload;
        },
      },
    });
    workers.push(w);
    await w.ready;
    const client = await a2aClient(`${hub.url}/a2a/capabilities/echo/`, boss.token);
    const answer: any = await client.sendMessage(sendParams(userMessage('w-1', 'echo', { data: { text: 'abc' } })));
    expect(answer.status.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answer.artifacts[0].parts[0].content.value).toEqual({ text: 'abc' });
    const events = (await boss.get(`/api/tasks/${answer.id}/events`)).body.events.map((e: any) => e.type);
    expect(events).toEqual(['task.assigned', 'task.claimed', 'task.progress', 'task.completed']);
    // Subscribing after the end with Last-Event-ID before the claim replays the rest, then closes.
    const firstId = (await boss.get(`/api/tasks/${answer.id}/events`)).body.events[0].id;
    const seen: string[] = [];
    await collect(client.resubscribeTask({ tenant: '', id: answer.id }, { serviceParameters: { 'Last-Event-ID': String(firstId) } }), seen);
    expect(seen).toEqual([
      'status:TASK_STATE_SUBMITTED(Claimed by worker.)',
      'status:TASK_STATE_WORKING(echoing)',
      'artifact:{"text":"abc"}',
      'status:TASK_STATE_COMPLETED',
    ]);
  });

  it('a SubscribeToTask dropped mid-way and resumed with Last-Event-ID misses nothing', async () => {
    const client = await a2aClient(`${hub.url}/a2a/agents/worker/`, boss.token);
    const sent: any = await client.sendMessage(sendParams(userMessage('r-1', 'resume me'), true));
    const dropped = new AbortController();
    const firstSeen: string[] = [];
    const first = (async () => {
      for await (const item of client.resubscribeTask({ tenant: '', id: sent.id }, { signal: dropped.signal })) {
        firstSeen.push(describeItem(item));
        if (firstSeen.length === 2) dropped.abort();
      }
    })().catch((e: unknown) => e);
    await expect.poll(() => firstSeen.length, { timeout: 10_000 }).toBe(1); // subscribed: the snapshot came
    await worker.post(`/api/tasks/${sent.id}/claim`);
    await expect.poll(() => firstSeen.length, { timeout: 10_000 }).toBe(2);
    await first;
    expect(firstSeen).toEqual(['task:TASK_STATE_SUBMITTED', 'status:TASK_STATE_SUBMITTED(Claimed by worker.)']);
    // While nobody listens, the task moves on and ends.
    await worker.post(`/api/tasks/${sent.id}/progress`, { message: 'missed 1' });
    await worker.post(`/api/tasks/${sent.id}/complete`, { result: 42 });
    const claimedId = (await boss.get(`/api/tasks/${sent.id}/events`)).body.events[1].id;
    const rest: string[] = [];
    await collect(client.resubscribeTask({ tenant: '', id: sent.id }, { serviceParameters: { 'Last-Event-ID': String(claimedId) } }), rest);
    expect(rest).toEqual(['status:TASK_STATE_WORKING(missed 1)', 'artifact:42', 'status:TASK_STATE_COMPLETED']);
  });

  it('stream frames carry SSE id: lines, the event ids of the task', async () => {
    const client = await a2aClient(`${hub.url}/a2a/agents/worker/`, boss.token);
    const sent: any = await client.sendMessage(sendParams(userMessage('i-1', 'ids'), true));
    await worker.post(`/api/tasks/${sent.id}/claim`);
    await worker.post(`/api/tasks/${sent.id}/complete`, { result: 'ok' });
    const res = await fetch(`${hub.url}/a2a`, {
      method: 'POST',
      headers: { authorization: `Bearer ${boss.token}`, accept: 'text/event-stream', 'A2A-Version': '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'sub', method: 'SubscribeToTask', params: { id: sent.id } }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const ids = (await boss.get(`/api/tasks/${sent.id}/events`)).body.events.map((e: any) => e.id);
    // A finished task: its snapshot alone, stamped with its last event's id, then the stream closes.
    expect(text).toContain(`id: ${ids[ids.length - 1]}\n`);
    expect(text).toContain('"TASK_STATE_COMPLETED"');
  });

  it('a stream on one hub follows a task completed through another hub on the same store', async () => {
    const other = await startTestHub({ TASKHUB_RPC_POLL_MS: '100' }, hub.dataDir);
    try {
      const client = await a2aClient(`${hub.url}/a2a/agents/worker/`, boss.token);
      const seen: string[] = [];
      const done = collect(client.sendMessageStream(sendParams(userMessage('x-1', 'across'))), seen);
      const task = await nextPending();
      const there = (route: string, body: unknown) =>
        fetch(`${other.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${worker.token}` }, body: JSON.stringify(body) });
      await there(`/api/tasks/${task.id}/claim`, {});
      await there(`/api/tasks/${task.id}/complete`, { result: 'from afar' });
      await done;
      expect(seen).toEqual(['task:TASK_STATE_SUBMITTED', 'status:TASK_STATE_SUBMITTED(Claimed by worker.)', 'artifact:"from afar"', 'status:TASK_STATE_COMPLETED']);
    } finally {
      await other.stop({ keepData: true });
    }
  });
});
