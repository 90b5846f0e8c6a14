import { z } from 'zod';
import { BROADCAST, MESSAGE_LIMITS } from '../domain/message.js';
import { AGENT_NAME_PATTERN, CAPABILITY_PATTERN } from '../domain/names.js';
import { PRIORITIES, TASK_STATUSES } from '../domain/task-status.js';
import { EVENT_TYPES } from '../domain/types.js';
import { REPORTS_PER_REQUEST, RPCS_PER_REQUEST } from '@taskhub/sdk/wire';

/** Limits on request fields; each is documented in docs/http.md. */
export const LIMITS = {
  taskText: 10_000,
  description: 2_000,
  capabilities: 100,
  idempotencyKey: 200,
  errorText: 10_000,
  progressMessage: 10_000,
  maxLeaseSeconds: 7 * 24 * 3600,
  listDefault: 50,
  listMax: 200,
  historyDefault: 100,
  historyMax: 1000,
  pendingDefault: 100,
  pendingMax: 500,
  webhookUrl: 2048,
  /** Reports one `POST /api/tasks/reports` may carry (the SDK's reporter sends at most as many). */
  reportsPerRequest: REPORTS_PER_REQUEST,
  /** Calls one `POST /api/tasks/rpcs` may carry (the SDK sends at most as many). */
  rpcsPerRequest: RPCS_PER_REQUEST,
} as const;

const agentName = z.string().regex(AGENT_NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9._-]{0,63}$');
const capability = z.string().regex(CAPABILITY_PATTERN, 'must match ^[a-z0-9][a-z0-9._-]{0,63}$');
const capabilities = z.array(capability).max(LIMITS.capabilities);
const email = z.email().max(254);
const description = z.string().max(LIMITS.description);
/** An ISO-8601 time with a zone, as epoch ms. */
const time = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const futureTime = time.refine((ms) => ms > Date.now(), 'must be in the future');
const idempotencyKey = z.string().min(1).max(LIMITS.idempotencyKey);
const pageLimit = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

export const agentCreateBody = z.strictObject({
  name: agentName,
  capabilities: capabilities.optional(),
  email: email.nullable().optional(),
  description: description.nullable().optional(),
});

export const agentPatchBody = z.strictObject({
  capabilities: capabilities.optional(),
  email: email.nullable().optional(),
  description: description.nullable().optional(),
});

export const agentListQuery = z.strictObject({ capability: capability.optional() });

/** `PUT /api/agents/:name/webhook`: an http(s) URL, and the event types it is for (omitted: all). */
export const webhookPutBody = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(LIMITS.webhookUrl),
  events: z
    .array(z.enum(EVENT_TYPES))
    .min(1, 'list at least one event type, or omit events for all')
    .max(EVENT_TYPES.length * 2)
    .optional(),
});

const taskFields = {
  target: agentName.optional(),
  capability: capability.optional(),
  task: z.string().min(1).max(LIMITS.taskText),
  payload: z.unknown().optional(),
  priority: z.enum(PRIORITIES).optional(),
};

const needsAddress = <T extends { target?: string | undefined; capability?: string | undefined }>(body: T) =>
  body.target !== undefined || body.capability !== undefined;
const addressMessage = { message: 'give a target, a capability, or both', path: ['target'] };

export const taskCreateBody = z
  .strictObject({
    ...taskFields,
    deadline: futureTime.optional(),
    idempotencyKey: idempotencyKey.optional(),
  })
  .refine(needsAddress, addressMessage);

/** `timeout` is clamped into [5, 300] seconds rather than refused; `deadline` lets an RPC's task expire. */
export const rpcBody = z
  .strictObject({
    ...taskFields,
    deadline: futureTime.optional(),
    idempotencyKey: idempotencyKey.optional(),
    timeout: z.number().optional(),
    keepOnTimeout: z.boolean().optional(),
  })
  .refine(needsAddress, addressMessage);

/** Several rpc bodies in one request: `POST /api/tasks/rpcs`. */
export const rpcsBody = z.strictObject({ calls: z.array(rpcBody).min(1).max(LIMITS.rpcsPerRequest) });

export const taskListQuery = z.strictObject({
  role: z.enum(['assigner', 'target']).optional(),
  status: z.enum(TASK_STATUSES).optional(),
  agent: agentName.optional(),
  limit: pageLimit(LIMITS.listDefault, LIMITS.listMax),
  cursor: z.string().min(1).max(100).optional(),
});

export const taskEventsQuery = z.strictObject({
  limit: pageLimit(LIMITS.historyDefault, LIMITS.historyMax),
  cursor: z.string().min(1).max(100).optional(),
});

export const pendingQuery = z.strictObject({ limit: pageLimit(LIMITS.pendingDefault, LIMITS.pendingMax) });

export const claimBody = z.strictObject({
  leaseSeconds: z.number().int().min(1).max(LIMITS.maxLeaseSeconds).optional(),
});

export const progressBody = z.strictObject({
  message: z.string().max(LIMITS.progressMessage).optional(),
  progress: z.number().min(0).max(1).optional(),
});

export const completeBody = z.strictObject({ result: z.unknown().optional() });

export const failBody = z.strictObject({
  error: z.string().min(1).max(LIMITS.errorText),
  retry: z.boolean().optional(),
});

export const emptyBody = z.strictObject({});

const reportedTask = z.string().min(1).max(100);
/** The single-task bodies above, each with its op and task: `POST /api/tasks/reports`. */
export const taskReportsBody = z.strictObject({
  reports: z
    .array(
      z.discriminatedUnion('op', [
        claimBody.extend({ op: z.literal('claim'), taskId: reportedTask }),
        progressBody.extend({ op: z.literal('progress'), taskId: reportedTask }),
        completeBody.extend({ op: z.literal('complete'), taskId: reportedTask }),
        failBody.extend({ op: z.literal('fail'), taskId: reportedTask }),
      ]),
    )
    .min(1)
    .max(LIMITS.reportsPerRequest),
});

export const eventsQuery = z.strictObject({
  lastEventId: z.string().regex(/^\d{1,15}$/, 'must be an event id').optional(),
  /** A one-time ticket from `POST /api/events/ticket`, for clients that cannot send headers. */
  ticket: z.string().min(1).max(100).optional(),
});

export { taskFields, needsAddress, addressMessage };

/** Paging of the inbox and of a thread; each is documented in docs/http.md (message content limits: MESSAGE_LIMITS). */
export const MESSAGE_PAGE_LIMITS = {
  inboxDefault: 50,
  inboxMax: 200,
  threadDefault: 200,
  threadMax: 1000,
} as const;

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const messageSendBody = z.strictObject({
  to: z.union([z.literal(BROADCAST), agentName, z.array(agentName).min(1).max(MESSAGE_LIMITS.listRecipients)], {
    error: `must be an agent name, a list of 1 to ${MESSAGE_LIMITS.listRecipients} agent names, or "ALL"`,
  }),
  subject: z.string().min(1).max(MESSAGE_LIMITS.subject),
  body: z.string().max(MESSAGE_LIMITS.body),
  inReplyTo: z.uuid().optional(),
});

export const inboxQuery = z.strictObject({
  unread: flag.optional(),
  markRead: flag.optional(),
  limit: pageLimit(MESSAGE_PAGE_LIMITS.inboxDefault, MESSAGE_PAGE_LIMITS.inboxMax),
  cursor: z.string().min(1).max(100).optional(),
});

export const threadQuery = z.strictObject({
  limit: pageLimit(MESSAGE_PAGE_LIMITS.threadDefault, MESSAGE_PAGE_LIMITS.threadMax),
  cursor: z.string().min(1).max(100).optional(),
});
