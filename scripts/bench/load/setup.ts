/** Setting up agents and timed loops for the load generators. */
import { cpuMs } from '../processes.js';
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
  serverPid?: number,
): Promise<{ windowStart: number; windowEnd: number; serverCpuMs: number | null; loadCpuMs: number }> {
  const begin = performance.now();
  const windowStart = begin + warmupMs;
  const windowEnd = windowStart + durationMs;
  const inWindow = (started: number, ended: number) => started >= windowStart && ended <= windowEnd;
  const stop = () => performance.now() >= windowEnd;
  // CPU used by the server and by this process during the measured window.
  let serverAtStart: number | undefined;
  let loadAtStart = 0;
  let serverCpu: number | undefined;
  let loadCpu = 0;
  const marks = [
    setTimeout(() => {
      serverAtStart = serverPid === undefined ? undefined : cpuMs(serverPid);
      loadAtStart = process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000;
    }, warmupMs),
    setTimeout(() => {
      const server = serverPid === undefined ? undefined : cpuMs(serverPid);
      if (server !== undefined && serverAtStart !== undefined) serverCpu = server - serverAtStart;
      loadCpu = process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000 - loadAtStart;
    }, warmupMs + durationMs),
  ];
  try {
    await Promise.all(Array.from({ length: workers }, (_, w) => loop(w, inWindow, stop)));
  } finally {
    for (const mark of marks) clearTimeout(mark);
  }
  return { windowStart, windowEnd, serverCpuMs: serverCpu ?? null, loadCpuMs: Math.round(loadCpu) };
}
