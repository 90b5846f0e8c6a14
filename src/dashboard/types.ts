/**
 * The shapes the dashboard reads from the hub's API (docs/http.md). Kept here rather than imported from
 * the server so that the browser code depends on nothing but the HTTP contract.
 */

export const TASK_STATUSES = ['assigned', 'claimed', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const OPEN_STATUSES: readonly TaskStatus[] = ['assigned', 'claimed', 'in_progress'];
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

export function isOpen(status: TaskStatus): boolean {
  return OPEN_STATUSES.includes(status);
}

export interface Task {
  id: string;
  kind: 'task' | 'rpc';
  task: string;
  payload: unknown;
  capability: string | null;
  priority: string;
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

/** One event as the stream and `GET /api/tasks/:id/events` carry it. */
export interface HubEvent {
  id: number;
  type: string;
  at: string;
  taskId?: string;
  task?: Task;
  progress?: { message: string | null; progress: number | null };
  message?: { id: string; from: string; to: string; subject: string };
  [key: string]: unknown;
}

export interface Stats {
  tasks: Partial<Record<TaskStatus, number>>;
  agents: { total: number; connected: number };
  rpc?: { waiting: number };
  outbox?: { queued: number; sent: number; failed: number };
  events?: { lastId: number };
}

export interface Mail {
  id: string;
  from: string;
  to: string | string[];
  subject: string;
  text: string;
  receivedAt: string;
}

export interface RpcAnswer {
  taskId: string;
  status: string;
  result?: unknown;
  error?: string | null;
}
