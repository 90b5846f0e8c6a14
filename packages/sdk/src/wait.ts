import { ConnectionError } from './errors.js';
import { isTerminal, type Task } from './types.js';

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first; leaves no timer behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface PollOptions {
  /** Epoch ms after which polling stops and the task is returned as it last was. */
  deadline: number;
  /** Interval between reads, ms. */
  pollMs: number;
  signal?: AbortSignal;
}

/**
 * Reads the task every `pollMs` until it is terminal or the deadline passes, and returns it as last read.
 * A read that gets no answer (a network blip) is retried; only when no read succeeded at all before the
 * deadline does the last `ConnectionError` surface. HTTP errors (404, 401) end the wait at once.
 */
export async function pollTask(getTask: (id: string) => Promise<Task>, id: string, options: PollOptions): Promise<Task> {
  let last: Task | undefined;
  let lastError: ConnectionError | undefined;
  for (;;) {
    try {
      last = await getTask(id);
      if (isTerminal(last.status)) return last;
    } catch (error) {
      if (!(error instanceof ConnectionError)) throw error;
      lastError = error;
    }
    const left = options.deadline - Date.now();
    if (left <= 0) {
      if (last) return last;
      throw lastError ?? new ConnectionError(`Task ${id} could not be read before the deadline.`);
    }
    await sleep(Math.min(options.pollMs, left), options.signal);
  }
}
