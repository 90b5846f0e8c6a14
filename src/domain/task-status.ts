/**
 * Task statuses and the one table of transitions between them. Every status change in taskhub is one of the
 * actions below; the store applies it as a single guarded UPDATE whose `WHERE status IN (from)` is this table.
 */

import { OPEN_STATUSES, PRIORITIES, type Priority, type TaskStatus } from '@taskhub/sdk/wire';

// The statuses and priorities are part of the wire contract, defined once in the SDK's wire module.
export {
  isTerminal,
  OPEN_STATUSES,
  PRIORITIES,
  TASK_STATUSES,
  TERMINAL_STATUSES,
  type Priority,
  type TaskStatus,
} from '@taskhub/sdk/wire';

/** The statuses in which a task holds a lease (`leaseExpiresAt` counts down). */
export const LEASED_STATUSES = ['claimed', 'in_progress'] as const satisfies readonly TaskStatus[];

/** Who may ask for an action: the task's target, its assigner (or an admin), or only the hub itself. */
export type ActionParty = 'target' | 'assigner' | 'hub';

export const TASK_EVENT_TYPES = [
  'task.assigned',
  'task.claimed',
  'task.progress',
  'task.completed',
  'task.failed',
  'task.cancelled',
  'task.expired',
] as const;
export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];

export interface Transition {
  readonly from: readonly TaskStatus[];
  readonly to: TaskStatus;
  readonly event: TaskEventType;
  readonly party: ActionParty;
}

export const TRANSITIONS = {
  claim: { from: ['assigned'], to: 'claimed', event: 'task.claimed', party: 'target' },
  progress: { from: LEASED_STATUSES, to: 'in_progress', event: 'task.progress', party: 'target' },
  complete: { from: OPEN_STATUSES, to: 'completed', event: 'task.completed', party: 'target' },
  fail: { from: OPEN_STATUSES, to: 'failed', event: 'task.failed', party: 'target' },
  /** `fail` with `retry: true` and attempts left: the task is handed out again. */
  retry: { from: OPEN_STATUSES, to: 'assigned', event: 'task.assigned', party: 'target' },
  cancel: { from: OPEN_STATUSES, to: 'cancelled', event: 'task.cancelled', party: 'assigner' },
  /** A lease ran out with deliveries left: back to the target's queue. */
  requeue: { from: LEASED_STATUSES, to: 'assigned', event: 'task.assigned', party: 'hub' },
  /** A lease ran out on the last delivery, or the target was removed. */
  abandon: { from: OPEN_STATUSES, to: 'failed', event: 'task.failed', party: 'hub' },
  expire: { from: OPEN_STATUSES, to: 'expired', event: 'task.expired', party: 'hub' },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

/** Which side of a task hears about each event: work goes to the target, news of it to the assigner. */
export const EVENT_AUDIENCE: Record<TaskEventType, readonly ('target' | 'assigner')[]> = {
  'task.assigned': ['target'],
  'task.claimed': ['assigner'],
  'task.progress': ['assigner'],
  'task.completed': ['assigner'],
  'task.failed': ['assigner'],
  'task.expired': ['assigner'],
  'task.cancelled': ['assigner', 'target'],
};

/** Priorities are stored as their rank so that `ORDER BY priority DESC` puts urgent first. */
export function priorityRank(priority: Priority): number {
  return PRIORITIES.indexOf(priority);
}

export function priorityFromRank(rank: number): Priority {
  const priority = PRIORITIES[rank];
  if (!priority) throw new Error(`unknown priority rank ${rank}`);
  return priority;
}
