import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  HttpError,
  RpcTimeoutError,
  TaskFailedError,
  type TaskhubClient,
} from '../client/index.js';
import { TOOLS, type ToolName } from './tools.js';

/**
 * Default waits of `call_agent` and `wait_for_task`, seconds: under the 60 s after which MCP clients commonly
 * give up on a tool call (the SDK's own default request timeout).
 */
export const DEFAULT_CALL_TIMEOUT_S = 50;
export const DEFAULT_WAIT_TIMEOUT_S = 50;

const text = (value: unknown, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }],
  ...(isError && { isError: true }),
});

/** A tool's answer: the data as `structuredContent` (checked against its output schema), and as JSON text for
 * clients that read only `content`. */
const data = (value: Record<string, unknown>): CallToolResult => ({ ...text(value), structuredContent: value });

/** Why the tools cannot act, when the server was started without a token. */
export class MissingTokenError extends Error {}

const TOKEN_HINT = 'Check TASKHUB_TOKEN in this MCP server\'s env: it must be an agent token the hub accepts.';

/** An error as the model should read it: what happened, in the contract's words, and the task it concerns. */
function errorResult(error: unknown): CallToolResult {
  if (error instanceof HttpError) {
    const details = (error.details ?? []).map((d) => `\n- ${d.path}: ${d.message}`).join('');
    const hint = error.status === 401 ? ` ${TOKEN_HINT}` : '';
    return text(`${error.code} (HTTP ${error.status}): ${error.message}${hint}${details}`, true);
  }
  if (error instanceof TaskFailedError) {
    return text({ taskId: error.taskId, status: error.status, error: error.error }, true);
  }
  if (error instanceof RpcTimeoutError) return text({ taskId: error.taskId, status: 'timeout', error: error.message }, true);
  return text(error instanceof Error ? error.message : String(error), true);
}

type Args = Record<string, any>;
type Handler = (args: Args) => Promise<Record<string, unknown>>;

/** What each tool does with its (already validated) arguments. */
function handlers(client: TaskhubClient): Record<ToolName, Handler> {
  return {
    list_agents: async (a) => ({ agents: await client.agents(a) }),
    assign_task: async (a) => ({ task: await client.assignTask(a as Parameters<TaskhubClient['assignTask']>[0]) }),
    call_agent: async ({ timeoutSeconds, ...a }) => ({
      result: await client.rpc({ ...(a as { task: string }), timeoutMs: (timeoutSeconds ?? DEFAULT_CALL_TIMEOUT_S) * 1000 }),
    }),
    get_task: async (a) => ({ task: await client.getTask(a.taskId) }),
    wait_for_task: async (a) => ({
      task: await client.waitForTask(a.taskId, { timeoutMs: (a.timeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_S) * 1000 }),
    }),
    list_tasks: async (a) => ({ ...(await client.listTasks(a)) }),
    cancel_task: async (a) => ({ task: await client.cancelTask(a.taskId) }),
    list_pending_tasks: async (a) => ({ tasks: await client.pendingTasks(a) }),
    claim_task: async ({ taskId, ...a }) => ({ task: await client.claimTask(taskId, a) }),
    report_progress: async ({ taskId, ...a }) => ({ task: await client.progress(taskId, a) }),
    complete_task: async (a) => ({ task: await client.completeTask(a.taskId, a.result) }),
    fail_task: async (a) => ({ task: await client.failTask(a.taskId, a.error, { retry: a.retry }) }),
    send_message: async (a) => ({ messages: await client.sendMessage(a as Parameters<TaskhubClient['sendMessage']>[0]) }),
    read_inbox: async (a) => ({ ...(await client.inbox(a)) }),
  };
}

/**
 * An MCP server whose tools act on the hub through `client`, with the client's token. Given a
 * `MissingTokenError` instead, it still starts and lists its tools (so that the MCP client connects and shows
 * them), and every tool answers that error: a person then reads what to set, not "connection closed".
 */
export function createMcpServer(client: TaskhubClient | MissingTokenError, version = '0.1.0'): McpServer {
  const server = new McpServer({ name: 'taskhub', version });
  const run = client instanceof MissingTokenError ? undefined : handlers(client);
  for (const [name, tool] of Object.entries(TOOLS) as [ToolName, (typeof TOOLS)[ToolName]][]) {
    const config = {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input,
      outputSchema: tool.output,
      annotations: tool.annotations,
    };
    server.registerTool(name, config, async (args: Args) => {
      try {
        if (!run) throw client;
        return data(await run[name](args));
      } catch (error) {
        return errorResult(error);
      }
    });
  }
  return server;
}

/** Serves the tools over this process's stdin/stdout until the client closes stdin. */
export async function serveMcpOverStdio(client: TaskhubClient | MissingTokenError): Promise<void> {
  const server = createMcpServer(client);
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = resolve;
  });
  // The client ends stdin to say goodbye; the transport itself does not listen for that.
  process.stdin.once('end', () => void server.close());
  await server.connect(new StdioServerTransport());
  await closed;
}
