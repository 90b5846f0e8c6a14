import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TaskhubClient } from '../../src/client/index.js';
import { BIN, ensureBuilt } from '../helpers/cli.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
let admin: TaskhubClient;
const clients: Client[] = [];

beforeAll(ensureBuilt, 180_000);
beforeEach(async () => {
  hub = await startTestHub();
  admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await hub.stop();
});

/** `taskhub mcp` as an MCP client would start it, acting with `token` (none: no TASKHUB_TOKEN at all). */
async function connect(token: string | undefined): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp'],
    // An empty data dir, so that no admin.token lying in the checkout stands in for the missing token.
    env: { TASKHUB_URL: hub.url, TASKHUB_DATA_DIR: hub.dataDir + '/none', ...(token !== undefined && { TASKHUB_TOKEN: token }) },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'taskhub-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

/** Calls a tool and returns its structured answer (the same as its text), failing on a tool error. */
async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const result = (await client.callTool({ name, arguments: args })) as {
    content: { text: string }[];
    structuredContent?: unknown;
    isError?: boolean;
  };
  if (result.isError) throw new Error(`${name} failed: ${result.content[0]!.text}`);
  expect(result.structuredContent).toEqual(JSON.parse(result.content[0]!.text));
  return result.structuredContent;
}

/** Calls a tool expected to fail and returns its error text. */
async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as { content: { text: string }[]; isError?: boolean };
  expect(result.isError, JSON.stringify(result)).toBe(true);
  return result.content[0]!.text;
}

describe('MCP server', () => {
  it('lists every tool with a description and an input schema', async () => {
    const mcp = await connect((await admin.createAgent({ name: 'llm' })).token);
    const { tools } = await mcp.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(
      [
        'assign_task', 'call_agent', 'cancel_task', 'claim_task', 'complete_task', 'fail_task', 'get_task',
        'list_agents', 'list_pending_tasks', 'list_tasks', 'read_inbox', 'report_progress', 'send_message',
        'wait_for_task',
      ].sort(),
    );
    for (const tool of tools) expect(tool.description!.length, tool.name).toBeGreaterThan(40);
    expect(byName.assign_task!.inputSchema.required).toEqual(['task']);
    expect(byName.fail_task!.inputSchema.required).toEqual(['taskId', 'error']);
    expect((byName.report_progress!.inputSchema.properties as any).progress).toMatchObject({ minimum: 0, maximum: 1 });
  });

  it('types every argument, payload and result as any JSON value, and says what each tool does to the hub', async () => {
    const mcp = await connect((await admin.createAgent({ name: 'llm' })).token);
    const { tools } = await mcp.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    const JSON_TYPES = ['object', 'array', 'string', 'number', 'boolean', 'null'];
    for (const tool of tools) {
      for (const [arg, schema] of Object.entries(tool.inputSchema.properties ?? {}) as [string, any][]) {
        expect(schema.type ?? schema.anyOf, `${tool.name}.${arg}`).toBeDefined();
      }
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(Object.keys(tool.annotations ?? {}).sort(), tool.name).toEqual(
        ['destructiveHint', 'idempotentHint', 'openWorldHint', 'readOnlyHint'],
      );
    }
    expect((byName.assign_task!.inputSchema.properties as any).payload.type).toEqual(JSON_TYPES);
    expect((byName.call_agent!.inputSchema.properties as any).payload.type).toEqual(JSON_TYPES);
    expect((byName.complete_task!.inputSchema.properties as any).result.type).toEqual(JSON_TYPES);
    expect(byName.get_task!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(byName.cancel_task!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true });
    expect(byName.assign_task!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false });
    expect((byName.get_task!.outputSchema!.properties as any).task.properties.status.enum).toContain('completed');
  });

  it('starts and answers the handshake without a token; each tool then says to set TASKHUB_TOKEN', async () => {
    const mcp = await connect(undefined);
    expect((await mcp.listTools()).tools).toHaveLength(14);
    for (const name of ['list_agents', 'get_task']) {
      const args = name === 'get_task' ? { taskId: '00000000-0000-4000-8000-000000000000' } : {};
      expect(await callError(mcp, name, args)).toMatch(/no token: set TASKHUB_TOKEN in this MCP server's env/);
    }
    expect(await callError(await connect('not-a-token'), 'list_agents', {})).toMatch(
      /^unauthorized \(HTTP 401\): The token is not valid\. Check TASKHUB_TOKEN/,
    );
  });

  it('lets one model assign work and another claim, report and complete it', async () => {
    const boss = await connect((await admin.createAgent({ name: 'boss' })).token);
    const bot = await connect((await admin.createAgent({ name: 'bot', capabilities: ['summarize'] })).token);

    const { agents } = await call(boss, 'list_agents', { capability: 'summarize' });
    expect(agents.map((a: { name: string }) => a.name)).toEqual(['bot']);
    const { task } = await call(boss, 'assign_task', { capability: 'summarize', task: 'summarize this', payload: { text: 'long' } });
    expect(task).toMatchObject({ status: 'assigned', target: 'bot' });

    const waiting = call(boss, 'wait_for_task', { taskId: task.id, timeoutSeconds: 30 });
    const { tasks } = await call(bot, 'list_pending_tasks');
    expect(tasks.map((t: { id: string }) => t.id)).toEqual([task.id]);
    expect((await call(bot, 'claim_task', { taskId: task.id })).task.status).toBe('claimed');
    expect((await call(bot, 'report_progress', { taskId: task.id, message: 'reading', progress: 0.5 })).task.status).toBe(
      'in_progress',
    );
    await call(bot, 'complete_task', { taskId: task.id, result: { summary: 'short' } });
    expect((await waiting).task).toMatchObject({ status: 'completed', result: { summary: 'short' } });
    expect((await call(boss, 'get_task', { taskId: task.id })).task.status).toBe('completed');
    const listed = await call(boss, 'list_tasks', { role: 'assigner' });
    expect(listed.tasks.map((t: { id: string }) => t.id)).toEqual([task.id]);
  });

  it('fails, retries and cancels tasks', async () => {
    const boss = await connect((await admin.createAgent({ name: 'boss' })).token);
    const bot = await connect((await admin.createAgent({ name: 'bot' })).token);
    const { task } = await call(boss, 'assign_task', { target: 'bot', task: 'try', priority: 'urgent' });
    expect((await call(bot, 'fail_task', { taskId: task.id, error: 'busy', retry: true })).task).toMatchObject({
      status: 'assigned',
      attempts: 1,
    });
    expect((await call(bot, 'fail_task', { taskId: task.id, error: 'no' })).task).toMatchObject({ status: 'failed', error: 'no' });
    const other = (await call(boss, 'assign_task', { target: 'bot', task: 'drop it' })).task;
    expect((await call(boss, 'cancel_task', { taskId: other.id })).task.status).toBe('cancelled');
    const still = await call(boss, 'wait_for_task', { taskId: (await call(boss, 'assign_task', { target: 'bot', task: 'slow' })).task.id, timeoutSeconds: 1 });
    expect(still.task.status).toBe('assigned');
  });

  it('calls an agent and waits for its answer; exchanges messages', async () => {
    const boss = await connect((await admin.createAgent({ name: 'boss' })).token);
    const botToken = (await admin.createAgent({ name: 'bot', capabilities: ['double'] })).token;
    const worker = new TaskhubClient({ url: hub.url, token: botToken }).worker({
      capabilities: { double: (n: number) => { if (n < 0) throw new Error('negative'); return n * 2; } },
    });
    try {
      await worker.ready;
      expect(await call(boss, 'call_agent', { capability: 'double', task: 'double it', payload: 21 })).toEqual({ result: 42 });
      const failed = JSON.parse(await callError(boss, 'call_agent', { target: 'bot', capability: 'double', task: 'double it', payload: -1 }));
      expect(failed).toMatchObject({ status: 'failed', error: 'negative', taskId: expect.any(String) });
    } finally {
      await worker.stop();
    }
    const bot = await connect(botToken);
    const { messages } = await call(boss, 'send_message', { to: ['bot'], subject: 'thanks', body: 'well doubled' });
    expect(messages).toHaveLength(1);
    const inbox = await call(bot, 'read_inbox', { unread: true, markRead: true });
    expect(inbox.messages).toMatchObject([{ from: 'boss', subject: 'thanks', body: 'well doubled' }]);
    expect((await call(bot, 'read_inbox', { unread: true })).messages).toEqual([]);
  });

  it('answers hub refusals and bad arguments as tool errors the model can read', async () => {
    const boss = await connect((await admin.createAgent({ name: 'boss' })).token);
    await admin.createAgent({ name: 'bot' });
    expect(await callError(boss, 'get_task', { taskId: '00000000-0000-4000-8000-000000000000' })).toMatch(
      /^not_found \(HTTP 404\): Task .* was not found\.$/,
    );
    expect(await callError(boss, 'assign_task', { capability: 'nobody', task: 'x' })).toMatch(/^no_agent_for_capability \(HTTP 422\)/);
    const { task } = await call(boss, 'assign_task', { target: 'bot', task: 'x' });
    expect(await callError(boss, 'complete_task', { taskId: task.id })).toMatch(/^forbidden \(HTTP 403\)/);
    const invalid = await boss.callTool({ name: 'report_progress', arguments: { taskId: task.id, progress: 2 } }).then(
      (r) => JSON.stringify(r),
      (e: Error) => e.message,
    );
    expect(invalid).toMatch(/Input validation error.*at progress.*"isError":true/);
    expect((await admin.getTask(task.id)).status).toBe('assigned');
  });
});
