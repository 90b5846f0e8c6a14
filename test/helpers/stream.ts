import { EventSource } from 'eventsource';

export interface ReceivedEvent {
  type: string;
  lastEventId: string;
  data: any;
}

/** Every event type the hub sends on a stream. */
export const STREAM_EVENT_TYPES = [
  'ready',
  'reset',
  'message',
  'task.assigned',
  'task.claimed',
  'task.progress',
  'task.completed',
  'task.failed',
  'task.cancelled',
  'task.expired',
];

/**
 * A real `eventsource` client on `/api/events`, collecting every frame. `waitFor` resolves once a predicate
 * holds over what has arrived; `close()` ends the stream (and its reconnects).
 */
export function openStream(url: string, token: string, options: { lastEventId?: string } = {}) {
  const received: ReceivedEvent[] = [];
  const errors: { code?: number; message?: string }[] = [];
  let wake: (() => void) | undefined;
  const es = new EventSource(`${url}/api/events`, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: {
          // The first connection resumes from the given id; reconnects from what eventsource last saw.
          ...(options.lastEventId !== undefined && { 'last-event-id': options.lastEventId }),
          ...(init?.headers as Record<string, string>),
          authorization: `Bearer ${token}`,
        },
      }),
  });
  for (const type of STREAM_EVENT_TYPES) {
    es.addEventListener(type, (event) => {
      received.push({ type, lastEventId: event.lastEventId, data: JSON.parse(event.data) });
      wake?.();
    });
  }
  es.addEventListener('error', (event) => {
    errors.push({ code: (event as any).code, message: (event as any).message });
    wake?.();
  });

  const waitFor = async (predicate: (events: ReceivedEvent[]) => boolean, timeoutMs = 5000): Promise<ReceivedEvent[]> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(received)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out; received: ${JSON.stringify(received.map((e) => `${e.lastEventId} ${e.type}`))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return received;
  };

  return {
    es,
    received,
    errors,
    waitFor,
    /** Events other than `ready`, in arrival order. */
    events: () => received.filter((e) => e.type !== 'ready'),
    close: () => es.close(),
  };
}

export type TestStream = ReturnType<typeof openStream>;
