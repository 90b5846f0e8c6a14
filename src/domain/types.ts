import type { Task } from '@taskhub/sdk/wire';
import { TASK_EVENT_TYPES } from './task-status.js';

/** The API's shapes (task, agent), defined once in the SDK's wire module. */
export type { Agent, Task, TaskKind } from '@taskhub/sdk/wire';

/**
 * Every event type the hub records. Tables keyed by event type are `Record<EventType, …>`, so that a new type is
 * a compile error wherever it is not handled.
 */
export const EVENT_TYPES = [...TASK_EVENT_TYPES, 'message'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Who is making a request: an agent acting for itself, or an admin (any `sub`) acting for the operator. */
export interface Actor {
  readonly name: string;
  readonly role: 'agent' | 'admin';
}

/**
 * An event as it was committed: `recipients` are the agents it is addressed to (admins see all), `data` the
 * fields that follow `id`, `type` and `at` in the SSE `data:` line, already serialised once.
 */
export interface HubEvent {
  id: number;
  type: string;
  at: number;
  taskId: string | null;
  recipients: readonly string[];
  data: string;
  /**
   * The task as the event recorded it (the `task` inside `data`), so that in-process listeners need not parse
   * `data` again. Set on the live events of the bus; absent on events read back from the store.
   */
  task?: Task;
}

// The last time converted: a task's times often repeat (created and updated at the same ms, updated and completed),
// and so do those of the tasks of one batch.
let lastMs: number | undefined;
let lastIso = '';

export function toIso(ms: number | null): string | null {
  if (ms === null) return null;
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}
