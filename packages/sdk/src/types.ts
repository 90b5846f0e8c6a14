/**
 * What the SDK's methods take. The wire shapes they answer with (Task, Agent, HubEvent, …) are in wire.ts,
 * defined once for the hub, the SDK and the dashboard.
 */
import type { Priority, TaskStatus } from './wire.js';

export * from './wire.js';

export interface AssignTaskInput {
  /** Agent to assign to; with `capability` too, it must offer it. */
  target?: string;
  /** Capability to route by when there is no `target`. */
  capability?: string;
  /** What to do, in words. */
  task: string;
  payload?: unknown;
  priority?: Priority;
  /** After this time the task expires. */
  deadline?: Date | string;
  /** Repeating a key returns the first task with that key instead of creating another. */
  idempotencyKey?: string;
}

export interface ListTasksQuery {
  role?: 'assigner' | 'target';
  status?: TaskStatus;
  /** Page size; the hub's default is 50, its maximum 200. */
  limit?: number;
  cursor?: string;
}

export interface InboxQuery {
  unread?: boolean;
  markRead?: boolean;
  limit?: number;
  cursor?: string;
}

export interface SendMessageInput {
  /** One agent, several, or `"ALL"` (every other agent). */
  to: string | string[];
  subject: string;
  body: string;
  inReplyTo?: string;
}

export interface CreateAgentInput {
  name: string;
  capabilities?: string[];
  email?: string | null;
  description?: string | null;
}

export type UpdateAgentInput = Omit<CreateAgentInput, 'name'>;

export interface RpcInput {
  target?: string;
  capability?: string;
  task: string;
  payload?: unknown;
  priority?: Priority;
  /** How long to wait for the answer, ms. Default 180,000; the hub clamps it to [5 s, 300 s]. */
  timeoutMs?: number;
  /** On timeout leave the task open instead of cancelling it. Default false. */
  keepOnTimeout?: boolean;
  /**
   * Makes the call idempotent across retries and processes: a call sent again with the same key (by the same
   * caller) waits for the first call's task instead of creating another. Default: a fresh UUID per call, which
   * already covers the SDK's own re-sends after a dropped connection.
   */
  idempotencyKey?: string;
  /** Aborts the call; the task itself is left as it is. */
  signal?: AbortSignal;
}
