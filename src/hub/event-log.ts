import type { Logger } from 'pino';
import type { EventType, HubEvent } from '../domain/types.js';
import type { EventBus } from './event-bus.js';

/** The task events an operator wants a line for: work that ended without a result. */
const LOGGED: Record<EventType, string | null> = {
  'task.assigned': null,
  'task.claimed': null,
  'task.progress': null,
  'task.completed': null,
  'task.failed': 'task failed',
  'task.expired': 'task expired',
  'task.cancelled': 'task cancelled',
  message: null,
};

/**
 * Writes one `info` line for each task that failed, expired or was cancelled, from the committed events on the
 * bus (so a change that rolled back logs nothing, and the hub's code carries no log calls of its own). The
 * task's error is the agent's or the hub's reason; payloads and results are never logged.
 * @returns the function that stops it.
 */
export function logTaskEvents(bus: EventBus, logger: Logger): () => void {
  return bus.subscribe((event: HubEvent) => {
    const message = LOGGED[event.type as EventType];
    const task = event.task;
    if (!message || !task) return;
    logger.info(
      {
        eventId: event.id,
        taskId: task.id,
        task: task.task.slice(0, 80),
        assigner: task.assigner,
        target: task.target,
        attempts: task.attempts,
        ...(task.error !== null && { error: task.error }),
      },
      message,
    );
  });
}
