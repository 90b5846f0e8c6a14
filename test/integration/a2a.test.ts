import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskState } from '@a2a-js/sdk';
import { addAgent, type Client } from '../helpers/api.js';
import { a2aClient, sendParams, userMessage } from '../helpers/a2a.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
let boss: Client & { name: string };
let worker: Client & { name: string };

beforeEach(async () => {
  hub = await startTestHub({ TASKHUB_RPC_POLL_MS: '100' });
  boss = await addAgent(hub, 'boss');
  worker = await addAgent(hub, 'worker', { capabilities: ['echo'] });
});
afterEach(async () => {
  await hub.stop();
});

async function nextPending(client: Client = worker): Promise<any> {
  let task: any;
  await expect.poll(async () => (task = (await client.get('/api/tasks/pending')).body.tasks[0]), { timeout: 10_000 }).toBeDefined();
  return task;
}

const rpc = (path: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${hub.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));

describe('A2A cards', () => {
  it('serves the hub card with a skill per capability, the bearer scheme and the 1.0 JSON-RPC interface', async () => {
    const res = await boss.get('/.well-known/agent-card.json');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'taskhub',
      capabilities: { streaming: true, pushNotifications: false },
      supportedInterfaces: [{ url: `${hub.url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
      securitySchemes: { bearer: { httpAuthSecurityScheme: { scheme: 'Bearer' } } },
    });
    expect(res.body.skills.map((s: any) => s.id)).toEqual(['echo']);
    const agentCard = await boss.get('/a2a/agents/worker/.well-known/agent-card.json');
    expect(agentCard.body.supportedInterfaces[0].url).toBe(`${hub.url}/a2a/agents/worker`);
    expect((await fetch(`${hub.url}/.well-known/agent-card.json`)).status).toBe(401);
    expect((await boss.get('/a2a/agents/nobody/.well-known/agent-card.json')).status).toBe(404);
  });

  it('uses TASKHUB_PUBLIC_URL and serves cards without a token under TASKHUB_A2A_PUBLIC_CARDS', async () => {
    const other = await startTestHub({ TASKHUB_PUBLIC_URL: 'https://hub.example.com/', TASKHUB_A2A_PUBLIC_CARDS: 'true' });
    try {
      const res = await fetch(`${other.url}/a2a/capabilities/x/.well-known/agent-card.json`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).supportedInterfaces[0].url).toBe('https://hub.example.com/a2a/capabilities/x');
    } finally {
      await other.stop();
    }
  });
});

describe('A2A cards behind a proxy', () => {
  it('without TASKHUB_PUBLIC_URL, name the scheme and host the trusted proxy forwarded', async () => {
    const other = await startTestHub({ TASKHUB_TRUST_PROXY: 'loopback' });
    try {
      const agent = await addAgent(other, 'proxied', { capabilities: ['x'] });
      const res = await fetch(`${other.url}/a2a/agents/proxied/.well-known/agent-card.json`, {
        headers: { authorization: `Bearer ${agent.token}`, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hub.example.org' },
      });
      expect(((await res.json()) as any).supportedInterfaces[0].url).toBe('https://hub.example.org/a2a/agents/proxied');
    } finally {
      await other.stop();
    }
  });
});

describe('A2A methods with the official client', () => {
  it('blocking SendMessage waits for the task, completed over /api, and answers the result as an artifact', async () => {
    const client = await a2aClient(`${hub.url}/a2a/agents/worker/`, boss.token);
    const answer = client.sendMessage(sendParams(userMessage('m-1', 'say hi', { data: { n: 1 } })));
    const pending = await nextPending();
    expect(pending).toMatchObject({ task: 'say hi', payload: { n: 1 }, assigner: 'boss' });
    await worker.post(`/api/tasks/${pending.id}/claim`);
    await worker.post(`/api/tasks/${pending.id}/complete`, { result: { greeting: 'hi' } });
    const task: any = await answer;
    expect(task.id).toBe(pending.id);
    expect(task.status.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(task.artifacts[0].parts[0].content).toEqual({ $case: 'data', value: { greeting: 'hi' } });
  });

  it('a blocking SendMessage answers once the task ends, not at its next poll of the store', async () => {
    const slowPoll = await startTestHub({ TASKHUB_RPC_POLL_MS: '600000' });
    try {
      const caller = await addAgent(slowPoll, 'caller');
      const echo = await addAgent(slowPoll, 'echo');
      const client = await a2aClient(`${slowPoll.url}/a2a/agents/echo/`, caller.token);
      const answer = client.sendMessage(sendParams(userMessage('m-quick', 'now')));
      const pending = await nextPending(echo);
      await echo.post(`/api/tasks/${pending.id}/complete`, { result: { done: true } });
      const task: any = await answer;
      expect(task.status.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(task.artifacts[0].parts[0].content).toEqual({ $case: 'data', value: { done: true } });
    } finally {
      await slowPoll.stop();
    }
  });

  it('a blocking SendMessage whose client goes away stops watching the task', async () => {
    const watching = hub.hub.bus.listenerCount();
    const leaving = new AbortController();
    const send = fetch(`${hub.url}/a2a/agents/worker`, {
      method: 'POST',
      headers: { authorization: `Bearer ${boss.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage',
        params: { message: { messageId: 'm-gone', role: 'ROLE_USER', parts: [{ text: 'wait' }] } } }),
      signal: leaving.signal,
    });
    await nextPending();
    await expect.poll(() => hub.hub.bus.listenerCount()).toBe(watching + 1);
    leaving.abort();
    await expect(send).rejects.toThrow();
    await expect.poll(() => hub.hub.bus.listenerCount()).toBe(watching);
  });

  it('returnImmediately answers the submitted task; the same messageId finds the same task', async () => {
    const client = await a2aClient(`${hub.url}/a2a/capabilities/echo/`, boss.token);
    const first: any = await client.sendMessage(sendParams(userMessage('m-2', 'ping'), true));
    expect(first.status.state).toBe(TaskState.TASK_STATE_SUBMITTED);
    const again: any = await client.sendMessage(sendParams(userMessage('m-2', 'ping'), true));
    expect(again.id).toBe(first.id);
    expect((await worker.get(`/api/tasks/${first.id}`)).body.task.target).toBe('worker');
  });

  it('GetTask, ListTasks with a cursor, and CancelTask', async () => {
    const client = await a2aClient(`${hub.url}/a2a/agents/worker/`, boss.token);
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push(((await client.sendMessage(sendParams(userMessage(`l-${n}`, `t${n}`), true))) as any).id);
    const got = await client.getTask({ tenant: '', id: ids[0]! });
    expect(got.status?.state).toBe(TaskState.TASK_STATE_SUBMITTED);
    const page1 = await client.listTasks({ tenant: '', contextId: '', status: 0, pageSize: 2, pageToken: '' } as any);
    expect(page1.tasks.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    const page2 = await client.listTasks({ tenant: '', contextId: '', status: 0, pageSize: 2, pageToken: page1.nextPageToken } as any);
    expect(page2.tasks.map((t) => t.id)).toEqual([ids[0]]);
    expect(page2.nextPageToken).toBe('');
    const cancelled = await client.cancelTask({ tenant: '', id: ids[0]!, metadata: undefined });
    expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await expect(client.cancelTask({ tenant: '', id: ids[0]!, metadata: undefined })).rejects.toMatchObject({ name: 'TaskNotCancelableError' });
  });

  it('a task the caller may not see is -32001, for GetTask and CancelTask', async () => {
    const other = await addAgent(hub, 'other');
    const client = await a2aClient(`${hub.url}/a2a/agents/worker/`, boss.token);
    const task: any = await client.sendMessage(sendParams(userMessage('v-1', 'secret'), true));
    const stranger = await a2aClient(`${hub.url}/a2a/agents/worker/`, other.token);
    await expect(stranger.getTask({ tenant: '', id: task.id })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    await expect(stranger.cancelTask({ tenant: '', id: task.id, metadata: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
  });
});

describe('the README call', () => {
  it('works as written: a partial message through ClientFactory, answered with the completed task', async () => {
    const { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } = await import('@a2a-js/sdk/client');
    const { Role } = await import('@a2a-js/sdk');
    const auth: typeof fetch = (u, i = {}) => fetch(u, { ...i, headers: { ...(i.headers as object), authorization: `Bearer ${boss.token}` } });
    const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ fetchImpl: auth })], cardResolver: new DefaultAgentCardResolver({ fetchImpl: auth }) }));
    const a2a = await factory.createFromUrl(`${hub.url}/a2a/capabilities/echo/`);
    const answer = a2a.sendMessage({ message: { messageId: crypto.randomUUID(), role: Role.ROLE_USER, parts: [{ content: { $case: 'text', value: 'Summarise this' } }] } } as any);
    const pending = await nextPending();
    await worker.post(`/api/tasks/${pending.id}/complete`, { result: 'short' });
    expect(await answer).toMatchObject({ id: pending.id, status: { state: TaskState.TASK_STATE_COMPLETED } });
  });
});

describe('A2A capability endpoint', () => {
  it('routes each task to the least loaded agent offering the capability', async () => {
    const second = await addAgent(hub, 'worker2', { capabilities: ['echo'] });
    // worker already holds two open tasks; worker2 one.
    for (const n of [1, 2]) await boss.post('/api/tasks', { target: 'worker', task: `busy ${n}` });
    await boss.post('/api/tasks', { target: 'worker2', task: 'busy 3' });
    const client = await a2aClient(`${hub.url}/a2a/capabilities/echo/`, boss.token);
    const first: any = await client.sendMessage(sendParams(userMessage('c-1', 'one'), true));
    expect(first.metadata.taskhub.target).toBe('worker2');
    const next: any = await client.sendMessage(sendParams(userMessage('c-2', 'two'), true));
    expect(next.metadata.taskhub.target).toBe('worker'); // now 2 and 2: the one assigned least recently
    expect((await second.get('/api/tasks/pending')).body.tasks.map((t: any) => t.task)).toContain('one');
  });
});

describe('A2A errors', () => {
  it('answers JSON-RPC and A2A error codes', async () => {
    const t = boss.token;
    expect((await rpc('/a2a', t, '{not json')).body.error.code).toBe(-32700);
    expect((await rpc('/a2a', t, { id: 1, method: 'GetTask' })).body.error.code).toBe(-32600);
    expect((await rpc('/a2a', t, { jsonrpc: '2.0', id: 2, method: 'Nope', params: {} })).body).toMatchObject({ id: 2, error: { code: -32601 } });
    expect((await rpc('/a2a', t, { jsonrpc: '2.0', id: 3, method: 'GetTask', params: {} })).body.error.code).toBe(-32602);
    const untargeted = { jsonrpc: '2.0', id: 4, method: 'SendMessage', params: { message: { messageId: 'x', role: 'ROLE_USER', parts: [{ text: 'hi' }] } } };
    expect((await rpc('/a2a', t, untargeted)).body.error.code).toBe(-32602);
    expect((await rpc('/a2a', t, { jsonrpc: '2.0', id: 5, method: 'GetTask', params: { id: 'x' } }, { 'A2A-Version': '0.3' })).body.error.code).toBe(-32009);
    expect((await rpc('/a2a', t, { jsonrpc: '2.0', id: 6, method: 'message/send', params: {} })).body.error.code).toBe(-32009);
    expect((await rpc('/a2a', t, { jsonrpc: '2.0', id: 7, method: 'GetTaskPushNotificationConfig', params: {} })).body.error.code).toBe(-32003);
    expect((await rpc('/a2a', t, { jsonrpc: '2.0', id: 8, method: 'GetTask', params: { id: 'missing' } })).body.error.code).toBe(-32001);
    expect((await rpc('/a2a', 'bad-token', { jsonrpc: '2.0', id: 9, method: 'GetTask', params: { id: 'x' } })).status).toBe(401);
  });

  it("holds bodies to /api's JSON limits: bad UTF-8 is -32700, too deep or an overflowing number -32602", async () => {
    const t = boss.token;
    const bad = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]);
    const badUtf8 = await fetch(`${hub.url}/a2a`, { method: 'POST', headers: { authorization: `Bearer ${t}` }, body: bad });
    expect(((await badUtf8.json()) as any).error.code).toBe(-32700);
    const deep = `{"jsonrpc":"2.0","id":2,"method":"GetTask","params":{"id":"x","deep":${'['.repeat(200)}${']'.repeat(200)}}}`;
    expect((await rpc('/a2a', t, deep)).body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/nested more than 64/) });
    const huge = '{"jsonrpc":"2.0","id":3,"method":"GetTask","params":{"id":"x","n":1e999}}';
    expect((await rpc('/a2a', t, huge)).body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/too large/) });
  });

  it('the hub endpoint routes by metadata.target', async () => {
    const res = await rpc('/a2a', boss.token, { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {
      message: { messageId: 'h-1', role: 'ROLE_USER', parts: [{ text: 'hello' }], metadata: { target: 'worker' } },
      configuration: { returnImmediately: true } } });
    expect(res.body.result.task).toMatchObject({ status: { state: 'TASK_STATE_SUBMITTED' }, metadata: { taskhub: { target: 'worker' } } });
  });
});
