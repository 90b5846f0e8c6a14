import { z } from 'zod';
import type { Actor, Task } from '../domain/types.js';
import type { Hub } from '../hub/index.js';
import type { TaskInput } from '../hub/tasks.js';
import type { CardScope } from './cards.js';
import { A2A_CODES, RpcError, toRpcError } from './jsonrpc.js';
import { statusesOf, taskInputOf, toA2ATask } from './mapping.js';
import { waitTerminal } from './watch.js';

/** Longest a blocking `SendMessage` waits for the task to end before answering it as it stands (ms). */
export const SEND_MESSAGE_MAX_WAIT_MS = 300_000;
/** `ListTasks` page size when none is asked for, and the most it gives. */
export const LIST_DEFAULT_PAGE = 50;
export const LIST_MAX_PAGE = 100;

const messageSchema = z.object({
  messageId: z.string().min(1).max(200),
  parts: z.array(z.record(z.string(), z.unknown())).min(1),
  role: z.string().optional(),
  contextId: z.string().optional(),
  taskId: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
}).loose();
const sendSchema = z.object({
  message: messageSchema,
  configuration: z.object({ returnImmediately: z.boolean().optional(), historyLength: z.number().int().min(0).optional() }).loose().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
}).loose();
const idSchema = z.object({ id: z.string().min(1), historyLength: z.number().int().min(0).optional() }).loose();
const listSchema = z.object({
  pageSize: z.number().int().min(1).max(LIST_MAX_PAGE).optional(),
  pageToken: z.string().optional(),
  status: z.string().optional(),
  historyLength: z.number().int().min(0).optional(),
}).loose();

export function parseParams<T>(schema: z.ZodType<T>, params: unknown): T {
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((i) => ({ path: `params.${i.path.join('.')}`, message: i.message }));
  throw new RpcError(A2A_CODES.invalidParams, `Invalid params: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, { details });
}

/** Where the message goes: the endpoint's agent or capability, else the hub endpoint's `metadata.target`/`capability`. */
function routeOf(scope: CardScope, message: z.infer<typeof messageSchema>, metadata?: Record<string, unknown>): Pick<TaskInput, 'target' | 'capability'> {
  if (scope.kind === 'agent') return { target: scope.name! };
  if (scope.kind === 'capability') return { capability: scope.name! };
  const meta = { ...metadata, ...message.metadata };
  const pick = (key: string) => (typeof meta[key] === 'string' && meta[key] !== '' ? (meta[key] as string) : undefined);
  const target = pick('target');
  const capability = pick('capability');
  if (!target && !capability) {
    throw new RpcError(A2A_CODES.invalidParams, 'Name the work in message.metadata.target (an agent) or message.metadata.capability.');
  }
  return { ...(target && { target }), ...(capability && { capability }) };
}

export interface MethodDeps {
  hub: Hub;
  /** Interval of the store read a waiting call or stream falls back on, ms. */
  pollMs: number;
}

/** Creates (or, for a `messageId` used before, finds) the task a `SendMessage` asks for. */
export async function createFromMessage(deps: MethodDeps, actor: Actor, scope: CardScope, params: unknown) {
  const send = parseParams(sendSchema, params);
  const input = taskInputOf(send.message);
  if (input.task.trim() === '') throw new RpcError(A2A_CODES.invalidParams, 'The message needs at least one non-empty text part.');
  try {
    const { task } = await deps.hub.tasks.create(actor, { ...routeOf(scope, send.message, send.metadata), ...input, idempotencyKey: send.message.messageId });
    return { task, send };
  } catch (error) {
    throw toRpcError(error);
  }
}

export async function sendMessage(deps: MethodDeps, actor: Actor, scope: CardScope, params: unknown, signal: AbortSignal) {
  const { task, send } = await createFromMessage(deps, actor, scope, params);
  const ended = send.configuration?.returnImmediately
    ? undefined
    : await waitTerminal(deps.hub, actor, task.id, { pollMs: deps.pollMs, signal, maxWaitMs: SEND_MESSAGE_MAX_WAIT_MS });
  const now: Task = ended ?? (signal.aborted ? task : await deps.hub.tasks.get(actor, task.id));
  return { task: toA2ATask(now, send.configuration?.historyLength) };
}

export async function getTask(deps: MethodDeps, actor: Actor, params: unknown) {
  const { id, historyLength } = parseParams(idSchema, params);
  try {
    return toA2ATask(await deps.hub.tasks.get(actor, id), historyLength);
  } catch (error) {
    throw toRpcError(error);
  }
}

export async function cancelTask(deps: MethodDeps, actor: Actor, params: unknown) {
  const { id } = parseParams(idSchema, params);
  await getTask(deps, actor, { id }); // unseen tasks are -32001, before "not cancelable"
  try {
    return toA2ATask(await deps.hub.tasks.cancel(actor, id));
  } catch (error) {
    throw toRpcError(error, 'cancel');
  }
}

/**
 * The caller's tasks (those it assigned; an admin's: everyone's), newest first. A state that stands for several
 * taskhub statuses (SUBMITTED, FAILED) is filtered within the page, so such a page may hold fewer tasks.
 */
export async function listTasks(deps: MethodDeps, actor: Actor, params: unknown) {
  const query = parseParams(listSchema, params);
  const pageSize = query.pageSize ?? LIST_DEFAULT_PAGE;
  const statuses = query.status && query.status !== 'TASK_STATE_UNSPECIFIED' ? statusesOf(query.status) : undefined;
  if (statuses?.length === 0) throw new RpcError(A2A_CODES.invalidParams, `Unknown task state "${query.status}".`);
  try {
    const page = await deps.hub.tasks.list(actor, {
      ...(actor.role === 'agent' && { role: 'assigner' as const }),
      ...(statuses?.length === 1 && { status: statuses[0] }),
      limit: pageSize,
      ...(query.pageToken && { cursor: query.pageToken }),
    });
    const tasks = page.tasks.filter((t) => !statuses || statuses.includes(t.status)).map((t) => toA2ATask(t, query.historyLength));
    return { tasks, nextPageToken: page.nextCursor ?? '', pageSize, totalSize: tasks.length };
  } catch (error) {
    throw toRpcError(error);
  }
}
