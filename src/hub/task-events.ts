import { EVENT_AUDIENCE, type TaskEventType, type Transition } from '../domain/task-status.js';
import type { Task } from '../domain/types.js';
import { compactTaskEventData } from '../store/event-refs.js';
import type { TaskPatch, TaskRecord } from '../store/store.js';
import type { Change, ChangeRecorder } from './changes.js';
import { presentTask } from './present.js';

/** Who hears about a task event, without duplicates (an agent may assign work to itself). */
export function taskEventRecipients(type: TaskEventType, task: Pick<TaskRecord, 'assigner' | 'target'>): string[] {
  return [...new Set(EVENT_AUDIENCE[type].map((side) => task[side]))];
}

/**
 * Task state changes as the hub records them: each is the store's guarded UPDATE plus the event it produces,
 * written in the caller's change (one transaction).
 */
export function createTaskEvents(changes: ChangeRecorder, now: () => number) {
  /** Emits the event and returns the task as it presented it, so that nobody presents the same row twice. */
  const emitFor = async (
    change: Change,
    type: TaskEventType,
    record: TaskRecord,
    extra: Record<string, unknown> = {},
  ): Promise<Task> => {
    const task = presentTask(record);
    const data = JSON.stringify({ taskId: record.id, task, ...extra });
    const storedData = compactTaskEventData(task, extra, data.length);
    await change.emit({
      type,
      at: record.updatedAt,
      taskId: record.id,
      taskSeq: record.seq,
      recipients: taskEventRecipients(type, record),
      data,
      // A large payload or result is stored once, in the task row, not again in every event about the task.
      ...(storedData !== undefined && { storedData }),
      task,
    });
    return task;
  };

  return {
    run: changes.run,
    emitFor,

    /**
     * Applies `transition` to `task` if its status still allows it, and emits the transition's event.
     * @returns the updated task as the API shows it, or `undefined` when the status no longer allows it (nothing
     *   is written).
     */
    async transition(
      change: Change,
      task: TaskRecord,
      transition: Transition,
      patch: TaskPatch,
      extra?: Record<string, unknown>,
    ): Promise<Task | undefined> {
      const updated = await change.tx.tasks.transition(task.id, transition.from, transition.to, patch, now());
      return updated && emitFor(change, transition.event, updated, extra);
    },
  };
}

export type TaskEvents = ReturnType<typeof createTaskEvents>;
