import { z } from 'zod';
import { anyJson, OUTPUTS } from './outputs.js';

/**
 * The input schemas and descriptions of the MCP tools. Descriptions are written for the model that reads them:
 * what the tool does, when to use it, and what comes back.
 */

/**
 * What a tool does to the hub, as MCP annotations. Ending a task (cancel, fail) is destructive: the work is
 * lost to its assigner. Repeating a claim, a completion or a cancel changes nothing more (the hub answers 409).
 */
const READS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const ADDS = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
const SETTLES = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const ENDS = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false };

const agentName = z.string().describe('An agent name, e.g. "summarizer".');
const taskId = z.string().describe('The task id (a UUID) from assign_task, call_agent or list_pending_tasks.');
const address = {
  target: agentName.optional().describe('The agent to ask. Give a target, a capability, or both.'),
  capability: z
    .string()
    .optional()
    .describe('A capability such as "translate": the hub picks a connected agent offering it when no target is given.'),
  task: z.string().min(1).describe('What to do, in words the other agent will read.'),
  payload: anyJson().optional().describe('Any JSON value the task needs (an object of parameters, a text, a list).'),
  priority: z.enum(['low', 'normal', 'high', 'urgent']).optional().describe('Default "normal"; urgent work is delivered first.'),
};

export const TOOLS = {
  list_agents: {
    title: 'List agents',
    annotations: READS,
    output: OUTPUTS.agents,
    description:
      'List the agents on the hub: their names, capabilities, descriptions and whether they are connected now. ' +
      'Use it to find whom to ask before assign_task or call_agent.',
    input: { capability: z.string().optional().describe('Only agents offering this capability.') },
  },
  assign_task: {
    title: 'Assign a task',
    annotations: ADDS,
    output: OUTPUTS.task,
    description:
      'Give a task to another agent without waiting for it. Returns the task with its id and status "assigned". ' +
      'Follow it later with get_task or wait_for_task. To ask and wait in one step, use call_agent.',
    input: {
      ...address,
      deadline: z.string().optional().describe('ISO-8601 time after which the task expires unanswered.'),
      idempotencyKey: z.string().optional().describe('Repeating a key returns the first task instead of a duplicate.'),
    },
  },
  call_agent: {
    title: 'Call an agent and wait',
    annotations: ADDS,
    output: OUTPUTS.rpc,
    description:
      'Ask another agent to do something and wait for its answer (a remote procedure call). Returns the result ' +
      'when the task completes; an error when it fails, is cancelled or expires, or when no answer comes within ' +
      'timeoutSeconds (the task is then cancelled). For long work, use assign_task and wait_for_task instead.',
    input: {
      ...address,
      timeoutSeconds: z
        .number()
        .int()
        .min(5)
        .max(300)
        .optional()
        .describe('How long to wait, 5 to 300 seconds. Default 50; stay under your MCP client\'s own tool-call timeout.'),
    },
  },
  get_task: {
    title: 'Get a task',
    annotations: READS,
    output: OUTPUTS.task,
    description: 'Read a task you assigned or were assigned: its status, result or error, attempts and times.',
    input: { taskId },
  },
  wait_for_task: {
    title: 'Wait for a task',
    annotations: READS,
    output: OUTPUTS.task,
    description:
      'Wait until a task is finished (completed, failed, cancelled or expired) or timeoutSeconds pass, then return ' +
      'it as it is. Check its status: it may still be open after the wait.',
    input: {
      taskId,
      timeoutSeconds: z
        .number()
        .int()
        .min(1)
        .max(300)
        .optional()
        .describe('Longest wait, 1 to 300 seconds. Default 50; stay under your MCP client\'s own tool-call timeout.'),
    },
  },
  list_tasks: {
    title: 'List tasks',
    annotations: READS,
    output: OUTPUTS.taskPage,
    description: 'List tasks you assigned or are the target of, newest first.',
    input: {
      role: z.enum(['assigner', 'target']).optional().describe('"assigner": tasks you gave; "target": tasks given to you.'),
      status: z
        .enum(['assigned', 'claimed', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'])
        .optional()
        .describe('Only tasks in this status.'),
      limit: z.number().int().min(1).max(200).optional().describe('How many, at most 200. Default 50.'),
      cursor: z.string().optional().describe('The nextCursor of the previous answer, for the next page.'),
    },
  },
  cancel_task: {
    title: 'Cancel a task',
    annotations: ENDS,
    output: OUTPUTS.task,
    description: 'Cancel a task you assigned that is not finished yet; its target is told to stop.',
    input: { taskId },
  },
  list_pending_tasks: {
    title: 'List my pending tasks',
    annotations: READS,
    output: OUTPUTS.pending,
    description:
      'List the tasks waiting for you to claim them, most urgent first, then oldest first. Claim one with ' +
      'claim_task before working on it.',
    input: { limit: z.number().int().min(1).max(500).optional().describe('How many, at most 500. Default 100.') },
  },
  claim_task: {
    title: 'Claim a task',
    annotations: SETTLES,
    output: OUTPUTS.task,
    description:
      'Claim a task assigned to you, so that no one else works on it. You then hold a lease (default 300 s): ' +
      'report_progress renews it; if it runs out the task is handed out again.',
    input: {
      taskId,
      leaseSeconds: z.number().int().min(1).max(604800).optional().describe('Lease length in seconds.'),
    },
  },
  report_progress: {
    title: 'Report progress',
    annotations: ADDS,
    output: OUTPUTS.task,
    description: 'Tell the assigner how a task you claimed is going; this also renews your lease on it.',
    input: {
      taskId,
      message: z.string().optional().describe('A short progress note.'),
      progress: z.number().min(0).max(1).optional().describe('Fraction done, from 0 to 1.'),
    },
  },
  complete_task: {
    title: 'Complete a task',
    annotations: SETTLES,
    output: OUTPUTS.task,
    description: 'Finish a task assigned to you with its result; the assigner (or a waiting call_agent) gets it.',
    input: { taskId, result: anyJson().optional().describe('The answer: any JSON value (an object, a text, a list).') },
  },
  fail_task: {
    title: 'Fail a task',
    annotations: ENDS,
    output: OUTPUTS.task,
    description:
      'Give up on a task assigned to you, saying why. With retry: true it goes back to the queue for another ' +
      'attempt (while attempts remain) instead of failing.',
    input: {
      taskId,
      error: z.string().min(1).describe('Why it failed, for the assigner to read.'),
      retry: z.boolean().optional().describe('Hand the task back for another attempt instead of failing it.'),
    },
  },
  send_message: {
    title: 'Send a message',
    annotations: ADDS,
    output: OUTPUTS.sent,
    description: 'Send a message to one agent, several, or "ALL" (every other agent). Returns the messages sent.',
    input: {
      to: z.union([z.string(), z.array(z.string()).min(1)]).describe('An agent name, a list of names, or "ALL".'),
      subject: z.string().describe('Subject line.'),
      body: z.string().describe('The message text.'),
      inReplyTo: z.string().optional().describe('Id of the message this answers, to keep the thread.'),
    },
  },
  read_inbox: {
    title: 'Read my inbox',
    annotations: SETTLES,
    output: OUTPUTS.inbox,
    description: 'Read the messages sent to you, oldest first, newest last.',
    input: {
      unread: z.boolean().optional().describe('Only messages not read yet.'),
      markRead: z.boolean().optional().describe('Mark the returned messages as read.'),
      limit: z.number().int().min(1).optional().describe('How many messages to return.'),
      cursor: z.string().optional().describe('The nextCursor of the previous answer, for the next page.'),
    },
  },
} as const;

export type ToolName = keyof typeof TOOLS;
