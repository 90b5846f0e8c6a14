import { z } from 'zod';

/**
 * The output schemas of the MCP tools: what `structuredContent` holds, in the contract's shapes. Objects are
 * loose (`z.looseObject`) so that a field a newer hub adds does not turn a good answer into a validation error.
 */

/** Any JSON value, typed so that clients show it as JSON rather than as text (see tools.ts). */
export const anyJson = () => z.any().meta({ type: ['object', 'array', 'string', 'number', 'boolean', 'null'] });

const time = z.string().describe('ISO-8601 UTC time.');
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable();

export const taskOutput = z.looseObject({
  id: z.string(),
  kind: z.enum(['task', 'rpc']),
  task: z.string(),
  payload: anyJson(),
  capability: nullable(z.string()),
  priority: z.enum(['low', 'normal', 'high', 'urgent']),
  status: z.enum(['assigned', 'claimed', 'in_progress', 'completed', 'failed', 'cancelled', 'expired']),
  assigner: z.string(),
  target: z.string(),
  deadline: nullable(time),
  result: anyJson(),
  error: nullable(z.string()),
  attempts: z.number().int(),
  leaseExpiresAt: nullable(time),
  createdAt: time,
  updatedAt: time,
  claimedAt: nullable(time),
  completedAt: nullable(time),
});

export const agentOutput = z.looseObject({
  name: z.string(),
  capabilities: z.array(z.string()),
  email: nullable(z.string()).optional(),
  description: nullable(z.string()),
  connected: z.boolean(),
  streams: z.number().int(),
  lastSeen: nullable(time),
  createdAt: time,
});

export const messageOutput = z.looseObject({
  id: z.string(),
  threadId: z.string(),
  from: z.string(),
  to: z.string(),
  subject: z.string(),
  body: z.string(),
  inReplyTo: nullable(z.string()),
  createdAt: time,
  readAt: nullable(time),
});

const nextCursor = nullable(z.string()).describe('Pass it as cursor for the next page; null on the last one.');

/** The output shape of each kind of answer. */
export const OUTPUTS = {
  task: { task: taskOutput },
  taskPage: { tasks: z.array(taskOutput), nextCursor },
  pending: { tasks: z.array(taskOutput) },
  agents: { agents: z.array(agentOutput) },
  rpc: { result: anyJson().optional().describe('The result the target completed the task with.') },
  sent: { messages: z.array(messageOutput) },
  inbox: { messages: z.array(messageOutput), nextCursor },
};
