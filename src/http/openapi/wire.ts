import type { Agent, DevMail, ErrorCode, Message, RpcAnswer, RpcLine, Task, TaskReportsAnswer, WebhookCreated, WebhookState } from '@taskhub/sdk/wire';
import { z } from 'zod';
import { PRIORITIES, TASK_STATUSES } from '../../domain/task-status.js';
import { STATUS_BY_CODE } from '../errors.js';

/**
 * What the hub answers, as zod schemas for the OpenAPI document only: the hub never parses its own answers, so
 * these describe the wire shapes the presenters write (times are ISO-8601 strings in UTC, absent values `null`).
 */
const time = z.iso.datetime().describe('ISO-8601 time in UTC with milliseconds');
const nullableTime = time.nullable();

export const agentSchema = z
  .object({
    name: z.string(),
    capabilities: z.array(z.string()),
    email: z.string().nullable().optional().describe('shown to admins and to the agent itself only'),
    description: z.string().nullable(),
    connected: z.boolean(),
    streams: z.number().int(),
    lastSeen: nullableTime,
    createdAt: time,
  });

export const taskSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(['task', 'rpc']),
    task: z.string(),
    payload: z.unknown(),
    capability: z.string().nullable(),
    priority: z.enum(PRIORITIES),
    status: z.enum(TASK_STATUSES),
    assigner: z.string(),
    target: z.string(),
    deadline: nullableTime,
    result: z.unknown(),
    error: z.string().nullable(),
    attempts: z.number().int(),
    leaseExpiresAt: nullableTime,
    createdAt: time,
    updatedAt: time,
    claimedAt: nullableTime,
    completedAt: nullableTime,
  });

export const messageSchema = z
  .object({
    id: z.uuid(),
    threadId: z.uuid(),
    from: z.string(),
    to: z.string(),
    subject: z.string(),
    body: z.string(),
    inReplyTo: z.uuid().nullable(),
    createdAt: time,
    readAt: nullableTime,
  });

export const eventSchema = z
  .looseObject({
    id: z.number().int(),
    type: z.string().describe('task.assigned, task.claimed, task.progress, task.completed, task.failed, task.expired, task.cancelled, message'),
    at: time,
    taskId: z.uuid().optional(),
    task: taskSchema.optional(),
    message: messageSchema.optional(),
    progress: z.object({ message: z.string().nullable(), progress: z.number().nullable() }).optional(),
  });

export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(STATUS_BY_CODE) as [string, ...string[]]),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  });

export const devMailSchema = z
  .object({
    id: z.number().int(),
    from: z.string(),
    to: z.string(),
    subject: z.string(),
    headers: z.record(z.string(), z.string()),
    text: z.string(),
    json: z.unknown(),
    receivedAt: time,
    truncated: z.literal(true).optional().describe('in lists: text, json or a header was cut to a preview'),
  });

const deliveryCounts = z.object({ queued: z.number().int(), sent: z.number().int(), failed: z.number().int() });

export const webhookSchema = z.object({
  url: z.string(),
  events: z.array(z.string()).nullable().describe('the event types POSTed; null for every type'),
  createdAt: time,
});

const failedDeliverySchema = z.object({
  eventId: z.number().int().describe("the event's id, also the delivery's webhook-id"),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  lastAttemptAt: nullableTime,
});

const cursor = z.string().nullable().describe('pass back as `cursor` for the next page; null on the last');

/** The shapes the answers are built from, named in the document's components. */
export const WIRE_OBJECTS = {
  Agent: agentSchema,
  Task: taskSchema,
  Message: messageSchema,
  Event: eventSchema,
  Error: errorSchema,
  DevMail: devMailSchema,
  Webhook: webhookSchema,
} as const;

const rpcAnswerSchema = z.object({
  taskId: z.uuid(),
  status: z.enum(['completed', 'failed', 'cancelled', 'expired', 'timeout']),
  result: z.unknown().optional(),
  error: z.string().nullable().optional(),
});

/** The body of each answer, by name. */
export const answers = {
  agent: z.object({ agent: agentSchema }),
  agents: z.object({ agents: z.array(agentSchema) }),
  agentCreated: z.object({ agent: agentSchema, token: z.string() }),
  token: z.object({ token: z.string() }),
  task: z.object({ task: taskSchema }),
  tasks: z.object({ tasks: z.array(taskSchema) }),
  taskReports: z.object({
    results: z.array(
      z.union([
        z.object({ status: z.literal(200), task: taskSchema }),
        z.object({
          status: z.number().int().describe('what the single-task endpoint would have answered'),
          error: errorSchema.shape.error.extend({ code: z.enum(Object.keys(STATUS_BY_CODE) as [ErrorCode, ...ErrorCode[]]) }),
        }),
      ]),
    ).describe('one per report, in the order sent'),
  }),
  taskPage: z.object({ tasks: z.array(taskSchema), nextCursor: cursor }),
  taskEvents: z.object({ events: z.array(eventSchema), nextCursor: cursor }),
  rpc: rpcAnswerSchema,
  rpcLine: z
    .union([
      z.object({ index: z.number().int(), status: z.literal(200), answer: rpcAnswerSchema }),
      z.object({
        index: z.number().int(),
        status: z.number().int().describe('what `POST /api/tasks/rpc` would have answered'),
        error: errorSchema.shape.error.extend({
          code: z.enum(['internal_error', ...(Object.keys(STATUS_BY_CODE) as ErrorCode[])] as [ErrorCode, ...ErrorCode[]]),
        }),
      }),
    ])
    .describe('one line per call, written as the call ends; `index` is its place in `calls`'),
  message: z.object({ message: messageSchema }),
  messages: z.object({ messages: z.array(messageSchema) }),
  inbox: z.object({ messages: z.array(messageSchema), nextCursor: cursor }),
  thread: z.object({
    threadId: z.uuid(),
    subject: z.string(),
    participants: z.array(z.string()),
    messages: z.array(messageSchema),
    nextCursor: cursor.optional(),
  }),
  mailbox: z.object({ mails: z.array(devMailSchema), nextCursor: cursor }),
  mail: z.object({ mail: devMailSchema }),
  ticket: z.object({
    ticket: z.string().describe('use once as `?ticket=` on GET /api/events'),
    expiresAt: time,
  }),
  stats: z.looseObject({
    tasks: z.record(z.string(), z.number().int()),
    agents: z.object({ total: z.number().int(), connected: z.number().int() }),
    events: z.object({ lastId: z.number().int() }),
    rpc: z.object({ waiting: z.number().int() }).optional(),
    outbox: deliveryCounts.optional(),
    webhooks: deliveryCounts.optional().describe('webhook deliveries by status'),
    hubs: z.object({ live: z.number().int().describe('hubs whose presence is live on the store (1 on SQLite)') }).optional(),
  }),
  health: z.object({ status: z.literal('ok') }),
  webhookCreated: z.object({
    webhook: webhookSchema,
    secret: z.string().describe('`whsec_` + base64 of 32 random bytes; shown only here, replaced at every PUT'),
  }),
  webhookState: z.object({
    webhook: webhookSchema,
    deliveries: deliveryCounts,
    failed: z.array(failedDeliverySchema).describe('the newest 100 failed deliveries, newest first'),
  }),
  webhookRetry: z.object({ requeued: z.number().int().describe('failed deliveries queued again') }),
} as const;

// The schemas above describe the wire types defined once in the SDK's wire module; these fail to compile when the
// two drift apart (a field added to one only, or typed differently).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agreed: [
  Same<z.output<typeof taskSchema>, Task>,
  Same<z.output<typeof agentSchema>, Agent>,
  Same<z.output<typeof messageSchema>, Message>,
  Same<z.output<typeof devMailSchema>, DevMail>,
  Same<z.output<typeof answers.rpc>, RpcAnswer>,
  Same<z.output<typeof answers.taskReports>, TaskReportsAnswer>,
  Same<z.output<typeof answers.rpcLine>, RpcLine>,
  Same<z.output<typeof answers.webhookCreated>, WebhookCreated>,
  Same<z.output<typeof answers.webhookState>, WebhookState>,
] = [true, true, true, true, true, true, true, true, true];
void agreed;
