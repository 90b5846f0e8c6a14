import { isTerminal } from '../domain/task-status.js';
import type { Actor, HubEvent, Task } from '../domain/types.js';
import type { Hub } from '../hub/index.js';

/** Events that end a task: its stream closes after them. */
const ENDS = new Set(['task.completed', 'task.failed', 'task.cancelled', 'task.expired']);
export const endsTask = (event: HubEvent) => ENDS.has(event.type);

/** Events one read of a task's history asks for; the hub may answer fewer (its page size in characters). */
export const WATCH_PAGE_EVENTS = 500;

/** The task's recorded events after `afterId`, oldest first, read page by page. */
export async function* eventsAfter(hub: Hub, actor: Actor, taskId: string, afterId: number): AsyncGenerator<HubEvent> {
  for (;;) {
    const page = await hub.tasks.events(actor, taskId, { limit: WATCH_PAGE_EVENTS, afterId });
    yield* page.events;
    const last = page.events.at(-1);
    if (page.nextCursor === null || !last) return;
    afterId = last.id;
  }
}

export interface WatchOptions {
  /** Events with an id at or below this were seen already. Default 0 (all of the task's history). */
  afterId?: number;
  /** Interval of the store read that catches events another hub wrote, ms. */
  pollMs: number;
  /** Ends the watch early (client gone, wait over). */
  signal: AbortSignal;
}

/**
 * Hands `onEvent` each recorded event of the task after `afterId`, in id order, until an event ends the task or
 * the signal aborts. The task's stored history is the source (so another hub's events and a resume after
 * `Last-Event-ID` both work); this process's bus only wakes the read early. Subscribes before the first read,
 * so nothing committed between the two is missed.
 */
export async function watchTask(hub: Hub, actor: Actor, taskId: string, onEvent: (event: HubEvent) => void | Promise<void>,
  options: WatchOptions): Promise<void> {
  let afterId = options.afterId ?? 0;
  let wake: (() => void) | undefined;
  const unsubscribe = hub.bus.subscribe((event) => {
    if (event.taskId === taskId) wake?.();
  });
  const onAbort = () => wake?.();
  options.signal.addEventListener('abort', onAbort);
  try {
    while (!options.signal.aborted) {
      const woken = new Promise<void>((resolve) => (wake = resolve));
      // Read before the history: a task terminal by then has its ending event in what the pages hold.
      const wasTerminal = isTerminal((await hub.tasks.get(actor, taskId)).status);
      for await (const event of eventsAfter(hub, actor, taskId, afterId)) {
        if (options.signal.aborted) return;
        afterId = event.id;
        await onEvent(event);
        if (endsTask(event)) return;
      }
      // The task ended in an event the caller saw already: nothing more will come.
      if (wasTerminal) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, options.pollMs)))]);
      clearTimeout(timer);
    }
  } finally {
    wake = undefined;
    unsubscribe();
    options.signal.removeEventListener('abort', onAbort);
  }
}

export interface WaitOptions {
  /** Interval of the store read that catches an ending this process's bus did not carry, ms. */
  pollMs: number;
  /** Ends the wait early (the client gone, the hub stopping). */
  signal: AbortSignal;
  /** Longest wait, ms. */
  maxWaitMs: number;
}

/**
 * Waits until the task is terminal, the signal aborts or `maxWaitMs` passes; resolves either way, with the terminal
 * task when the wait saw it (read from the store, or as the ending event carried it: a live event of this
 * process), else `undefined`. Unlike a watch it reads no history: the ending event on the bus (every hub's,
 * through a shared store's feed) ends the wait, and a read of the task every `pollMs` covers an ending the bus did
 * not carry.
 */
export async function waitTerminal(hub: Hub, actor: Actor, taskId: string, options: WaitOptions): Promise<Task | undefined> {
  const { signal } = options;
  let ended: HubEvent | undefined;
  let wake: (() => void) | undefined;
  const unsubscribe = hub.bus.subscribe((event) => {
    if (event.taskId !== taskId || !endsTask(event)) return;
    ended = event;
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort);
  const giveUpAt = Date.now() + options.maxWaitMs;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Subscribed before the first read: an ending committed meanwhile is either in the read or on the bus.
    while (!ended && !signal.aborted && Date.now() < giveUpAt) {
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const task = await hub.tasks.get(actor, taskId);
      if (isTerminal(task.status)) return task;
      if (ended || signal.aborted) break;
      timer = setTimeout(() => wake?.(), Math.min(options.pollMs, Math.max(0, giveUpAt - Date.now())));
      await woken;
      clearTimeout(timer);
    }
    return ended?.task;
  } finally {
    clearTimeout(timer);
    wake = undefined;
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}
