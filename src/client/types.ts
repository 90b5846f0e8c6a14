/**
 * The shapes of the taskhub HTTP contract (v1), as the SDK sees them. Written here rather than imported from the
 * server so that the SDK depends on nothing but the contract.
 */

export type TaskStatus = 'assigned' | 'claimed' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'expired';
export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export type TaskKind = 'task' | 'rpc';

/** The statuses after which a task never changes again. */
export const TERMINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled', 'expired'];

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** A task. Times are ISO-8601 UTC strings; absent values are `null`. */
export interface Task {
  id: string;
  kind: TaskKind;
  task: string;
  payload: unknown;
  capability: string | null;
  priority: Priority;
  status: TaskStatus;
  assigner: string;
  target: string;
  deadline: string | null;
  result: unknown;
  error: string | null;
  attempts: number;
  leaseExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  claimedAt: string | null;
  completedAt: string | null;
}

/** An agent. `email` is present only for admins and for the agent itself. */
export interface Agent {
  name: string;
  capabilities: string[];
  email?: string | null;
  description: string | null;
  connected: boolean;
  streams: number;
  lastSeen: string | null;
  createdAt: string;
}

export interface Message {
  id: string;
  threadId: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  inReplyTo: string | null;
  createdAt: string;
  readAt: string | null;
}

export interface Thread {
  threadId: string;
  subject: string;
  participants: string[];
  messages: Message[];
  nextCursor?: string | null;
}

/** Pass `nextCursor` back as `cursor` for the next (older) page; `null` when there is none. */
export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
}

export interface InboxPage {
  messages: Message[];
  nextCursor: string | null;
}

/** An event of the SSE stream (`task.*`, `message`, or `reset`). */
export interface HubEvent {
  id: number;
  type: string;
  /** ISO-8601 time. */
  at: string;
  taskId?: string;
  /** The task as it is after the event (`task.*` events). */
  task?: Task;
  /** The message (`message` events). */
  message?: Message;
  /** `task.progress`: what the target reported. */
  progress?: { message: string | null; progress: number | null };
  [field: string]: unknown;
}

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
