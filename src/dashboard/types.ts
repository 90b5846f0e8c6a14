/**
 * The shapes the dashboard reads from the hub's API: the wire types, defined once in the SDK's wire module and
 * imported as types only (erased from the browser code). The few runtime values the page needs are repeated
 * here, checked against those types, because the browser loads no package code.
 */
import type {
  Agent,
  DeliveryCounts,
  DevMail,
  FailedDelivery,
  HubEvent,
  RpcAnswer,
  Stats as WireStats,
  Task,
  TaskStatus,
  WebhookState,
} from '@taskhub/sdk/wire';

export type { Agent, DeliveryCounts, FailedDelivery, HubEvent, RpcAnswer, Task, TaskStatus, WebhookState };

export const TASK_STATUSES = ['assigned', 'claimed', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'] as const satisfies readonly TaskStatus[];
export const OPEN_STATUSES: readonly TaskStatus[] = ['assigned', 'claimed', 'in_progress'];
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const satisfies readonly Task['priority'][];
// Fails to compile when the wire gains a status or priority the lists above lack.
const allStatuses: Exclude<TaskStatus, (typeof TASK_STATUSES)[number]> extends never ? true : never = true;
const allPriorities: Exclude<Task['priority'], (typeof PRIORITIES)[number]> extends never ? true : never = true;
void allStatuses;
void allPriorities;

export function isOpen(status: TaskStatus): boolean {
  return OPEN_STATUSES.includes(status);
}

/** `/api/stats`, whose parts beyond the hub's own may be missing on a hub without them. */
export type Stats = Omit<WireStats, 'tasks' | 'events'> & { tasks: Partial<Record<TaskStatus, number>>; events?: { lastId: number } };

export type Mail = DevMail;
