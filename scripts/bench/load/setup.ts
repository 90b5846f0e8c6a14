/** Setting up agents and timed loops for the load generators. */
import type { JsonClient } from './http.js';

/** Runs `fn` over `items` with at most `concurrency` at a time; rejects on the first failure. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Registers agents (as the admin) and returns their tokens by name. */
export async function createAgents(
  client: JsonClient,
  adminToken: string,
  names: readonly string[],
  fields: Record<string, unknown> = {},
): Promise<Map<string, string>> {
  const tokens = await pool(names, 16, async (name) => {
    const body = await client.postOk('/api/agents', adminToken, { name, ...fields });
    return body.token as string;
  });
  return new Map(names.map((name, i) => [name, tokens[i]!]));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/**
 * Runs `loop` in `workers` concurrent loops until `warmupMs + durationMs` have passed. `record(started)` tells the
 * caller whether an operation that started at `started` (performance.now) falls inside the measured window.
 */
export async function timedLoops(
  workers: number,
  warmupMs: number,
  durationMs: number,
  loop: (worker: number, inWindow: (started: number, ended: number) => boolean, stop: () => boolean) => Promise<void>,
): Promise<{ windowStart: number; windowEnd: number }> {
  const begin = performance.now();
  const windowStart = begin + warmupMs;
  const windowEnd = windowStart + durationMs;
  const inWindow = (started: number, ended: number) => started >= windowStart && ended <= windowEnd;
  const stop = () => performance.now() >= windowEnd;
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w, inWindow, stop)));
  return { windowStart, windowEnd };
}
