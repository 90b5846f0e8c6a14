import type { z } from 'zod';
import { mailboxQuery } from '../routes/mailbox.js';
import * as s from '../schemas.js';
import { answers } from './wire.js';

/** Who may call a route, as the reference says it. */
export type Caller = 'anyone' | 'any token' | 'admin' | 'agent' | 'that agent or admin' | 'target' | 'assigner or admin' | 'participants';

/** One documented route. `path` is written as Express mounts it (`/api/tasks/:id`). */
export interface RouteDoc {
  method: 'get' | 'post' | 'patch' | 'delete' | 'put';
  path: string;
  summary: string;
  tag: string;
  caller: Caller;
  body?: z.ZodType;
  query?: z.ZodType;
  /** The success status and its body (none for 204, text for the event stream and metrics). */
  ok: { status: number; answer?: keyof typeof answers; contentType?: string; description?: string };
  /** Error statuses beyond those every authenticated route has (401, 503) and those a body brings (400, 413). */
  errors?: number[];
  /** Extra success statuses, e.g. `200` for a repeated idempotency key. */
  alsoOk?: Array<{ status: number; answer: keyof typeof answers; description: string }>;
}

const tasks = 'tasks';
const agents = 'agents';
const messages = 'messages';
const a2a = 'a2a';
const webhooks = 'webhooks';
/** No token needed when TASKHUB_A2A_PUBLIC_CARDS is set. */
const a2aCard = { status: 200, contentType: 'application/json', description: 'an A2A 1.0 AgentCard (no token needed with TASKHUB_A2A_PUBLIC_CARDS)' };
const a2aCall = {
  status: 200,
  contentType: 'application/json',
  description: 'the body is one JSON-RPC 2.0 request (`SendMessage`, `GetTask`, `ListTasks`, `CancelTask`, …); the answer a JSON-RPC response (errors too, with HTTP 200), or an event stream for `SendStreamingMessage` and `SubscribeToTask`',
};

/**
 * Every route the hub serves, with the schemas that validate its input. The OpenAPI document is made from this
 * table, and a test checks it against the routes the Express app actually mounts.
 */
export const ROUTES: readonly RouteDoc[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness', tag: 'operations', caller: 'anyone', ok: { status: 200, answer: 'health' } },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', tag: 'operations', caller: 'anyone', ok: { status: 200, contentType: 'text/plain' } },
  { method: 'get', path: '/openapi.json', summary: 'This document', tag: 'operations', caller: 'anyone', ok: { status: 200, contentType: 'application/json' } },
  { method: 'get', path: '/api/stats', summary: 'Counts of tasks, agents, rpc waiters, outbox, webhook deliveries and events', tag: 'operations', caller: 'admin', ok: { status: 200, answer: 'stats' }, errors: [403] },

  { method: 'post', path: '/api/agents', summary: 'Register an agent; the answer holds its token', tag: agents, caller: 'admin', body: s.agentCreateBody, ok: { status: 201, answer: 'agentCreated' }, errors: [403, 409] },
  { method: 'get', path: '/api/agents', summary: 'List agents, optionally those offering a capability', tag: agents, caller: 'any token', query: s.agentListQuery, ok: { status: 200, answer: 'agents' } },
  { method: 'get', path: '/api/agents/:name', summary: 'One agent', tag: agents, caller: 'any token', ok: { status: 200, answer: 'agent' }, errors: [404] },
  { method: 'patch', path: '/api/agents/:name', summary: "Change an agent's capabilities, email or description", tag: agents, caller: 'that agent or admin', body: s.agentPatchBody, ok: { status: 200, answer: 'agent' }, errors: [403, 404] },
  { method: 'delete', path: '/api/agents/:name', summary: 'Remove an agent: its streams close, its open tasks fail', tag: agents, caller: 'admin', ok: { status: 204 }, errors: [403, 404] },
  { method: 'put', path: '/api/agents/:name/webhook', summary: "Set the agent's webhook; the answer holds its new signing secret, shown only here", tag: webhooks, caller: 'that agent or admin', body: s.webhookPutBody, ok: { status: 200, answer: 'webhookCreated' }, errors: [403, 404, 422] },
  { method: 'get', path: '/api/agents/:name/webhook', summary: "The agent's webhook, its delivery counts and the newest 100 failed deliveries", tag: webhooks, caller: 'that agent or admin', ok: { status: 200, answer: 'webhookState' }, errors: [403, 404] },
  { method: 'delete', path: '/api/agents/:name/webhook', summary: 'Remove the webhook: deliveries still queued fail, later events go to email', tag: webhooks, caller: 'that agent or admin', ok: { status: 204 }, errors: [403, 404] },
  { method: 'post', path: '/api/agents/:name/webhook/retry', summary: 'Send the failed deliveries again', tag: webhooks, caller: 'that agent or admin', body: s.emptyBody, ok: { status: 200, answer: 'webhookRetry' }, errors: [403, 404] },
  { method: 'post', path: '/api/agents/:name/token', summary: 'Issue a new token, revoking every older one', tag: agents, caller: 'admin', body: s.emptyBody, ok: { status: 200, answer: 'token' }, errors: [403, 404] },

  { method: 'post', path: '/api/tasks', summary: 'Assign a task to a target or a capability', tag: tasks, caller: 'any token', body: s.taskCreateBody, ok: { status: 201, answer: 'task' }, alsoOk: [{ status: 200, answer: 'task', description: 'the first task of a repeated idempotencyKey' }], errors: [422, 429] },
  { method: 'get', path: '/api/tasks', summary: 'Tasks the caller assigned or is the target of (admin: all), newest first', tag: tasks, caller: 'any token', query: s.taskListQuery, ok: { status: 200, answer: 'taskPage' } },
  { method: 'get', path: '/api/tasks/pending', summary: "The agent's assigned tasks, urgent first, then oldest", tag: tasks, caller: 'agent', query: s.pendingQuery, ok: { status: 200, answer: 'tasks' }, errors: [403] },
  { method: 'post', path: '/api/tasks/rpc', summary: 'Assign a task and wait for its outcome (timeout 5–300 s, default 180)', tag: tasks, caller: 'any token', body: s.rpcBody, ok: { status: 200, answer: 'rpc' }, errors: [422, 429] },
  { method: 'get', path: '/api/tasks/:id', summary: 'One task', tag: tasks, caller: 'assigner or admin', ok: { status: 200, answer: 'task' }, errors: [404] },
  { method: 'get', path: '/api/tasks/:id/events', summary: "The task's history, oldest first, in pages", tag: tasks, caller: 'assigner or admin', query: s.taskEventsQuery, ok: { status: 200, answer: 'taskEvents' }, errors: [404] },
  { method: 'post', path: '/api/tasks/:id/claim', summary: 'assigned → claimed; the lease starts', tag: tasks, caller: 'target', body: s.claimBody, ok: { status: 200, answer: 'task' }, errors: [403, 404, 409] },
  { method: 'post', path: '/api/tasks/:id/progress', summary: '→ in_progress; the lease is renewed', tag: tasks, caller: 'target', body: s.progressBody, ok: { status: 200, answer: 'task' }, errors: [403, 404, 409] },
  { method: 'post', path: '/api/tasks/:id/complete', summary: '→ completed', tag: tasks, caller: 'target', body: s.completeBody, ok: { status: 200, answer: 'task' }, errors: [403, 404, 409] },
  { method: 'post', path: '/api/tasks/:id/fail', summary: '→ failed, or back to assigned with retry and attempts left', tag: tasks, caller: 'target', body: s.failBody, ok: { status: 200, answer: 'task' }, errors: [403, 404, 409] },
  { method: 'post', path: '/api/tasks/rpcs', summary: 'Several rpcs in one request: each call\'s line (NDJSON) is written as it ends, with what POST /api/tasks/rpc would have answered for it', tag: tasks, caller: 'any token', body: s.rpcsBody, ok: { status: 200, answer: 'rpcLine', contentType: 'application/x-ndjson', description: 'One JSON line per call, in the order the calls end' } },
  { method: 'post', path: '/api/tasks/reports', summary: 'Several claims, progress reports, completions and failures at once; each answered as its own endpoint would (status and task, or status and error), in order', tag: tasks, caller: 'target', body: s.taskReportsBody, ok: { status: 200, answer: 'taskReports' } },
  { method: 'post', path: '/api/tasks/:id/cancel', summary: '→ cancelled', tag: tasks, caller: 'assigner or admin', body: s.emptyBody, ok: { status: 200, answer: 'task' }, errors: [403, 404, 409] },

  { method: 'post', path: '/api/messages', summary: 'Send a message to an agent, a list or "ALL"', tag: messages, caller: 'any token', body: s.messageSendBody, ok: { status: 201, answer: 'messages' }, errors: [422, 429] },
  { method: 'get', path: '/api/messages/:id', summary: 'One message the caller sent or received', tag: messages, caller: 'participants', ok: { status: 200, answer: 'message' }, errors: [404] },
  { method: 'post', path: '/api/messages/:id/read', summary: 'Mark a message read', tag: messages, caller: 'participants', body: s.emptyBody, ok: { status: 200, answer: 'message' }, errors: [403, 404] },
  { method: 'get', path: '/api/inbox', summary: "The agent's messages, newest last", tag: messages, caller: 'agent', query: s.inboxQuery, ok: { status: 200, answer: 'inbox' }, errors: [403] },
  { method: 'get', path: '/api/threads/:threadId', summary: 'A thread and its messages', tag: messages, caller: 'participants', query: s.threadQuery, ok: { status: 200, answer: 'thread' }, errors: [404] },

  { method: 'get', path: '/api/events', summary: "The caller's event stream (Server-Sent Events), resumable with Last-Event-ID", tag: 'events', caller: 'any token', query: s.eventsQuery, ok: { status: 200, contentType: 'text/event-stream', description: 'frames `id:`, `event:`, `data:` (an Event as JSON); first `ready`' }, errors: [429] },
  { method: 'post', path: '/api/events/ticket', summary: 'A one-time ticket (valid 60 s) to open the event stream with `?ticket=` where no header can be sent', tag: 'events', caller: 'any token', body: s.emptyBody, ok: { status: 200, answer: 'ticket' }, errors: [503] },

  { method: 'get', path: '/api/mailbox', summary: 'The dev mailbox of the embedded SMTP listener, newest last', tag: 'email', caller: 'admin', query: mailboxQuery, ok: { status: 200, answer: 'mailbox' }, errors: [403] },
  { method: 'get', path: '/api/mailbox/:id', summary: 'One whole mail of the dev mailbox', tag: 'email', caller: 'admin', ok: { status: 200, answer: 'mail' }, errors: [403, 404] },

  // The A2A 1.0 facade (docs/a2a.md): JSON-RPC, so only its envelope is described here.
  ...a2aRoutes('', 'the hub (a message names its target or capability in metadata)'),
  { method: 'get', path: '/a2a/.well-known/agent-card.json', summary: "The hub's A2A agent card (also at /.well-known/agent-card.json)", tag: a2a, caller: 'any token', ok: a2aCard },
  ...a2aRoutes('/agents/:name', 'one agent', [404]),
  ...a2aRoutes('/capabilities/:cap', 'one capability, each task routed as capability routing does'),
];

function a2aRoutes(endpoint: string, what: string, cardErrors?: number[]): RouteDoc[] {
  const card = `${endpoint === '' ? '' : '/a2a'}${endpoint}/.well-known/agent-card.json`;
  return [
    { method: 'get', path: card, summary: `The A2A agent card of ${what}`, tag: a2a, caller: 'any token', ok: a2aCard, ...(cardErrors && { errors: cardErrors }) },
    { method: 'post', path: `/a2a${endpoint}`, summary: `A2A JSON-RPC endpoint of ${what}`, tag: a2a, caller: 'any token', ok: a2aCall, errors: [413] },
  ];
}
