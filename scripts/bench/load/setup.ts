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

/** CPU time of one process, or of several together (a baseline made of more than one, e.g. Redis and its worker). */
function sumCpuMs(pids: number | readonly number[]): number | undefined {
  let total = 0;
  for (const pid of typeof pids === 'number' ? [pids] : pids) {
    const used = cpuMs(pid);
    if (used === undefined) return undefined;
    total += used;
  }
  return total;
}

/**
 * Runs `loop` in `workers` concurrent loops until `warmupMs + durationMs` have passed. `record(started)` tells the
 * caller whether an operation that started at `started` (performance.now) falls inside the measured window.
 */
export async function timedLoops(
  workers: number,
  warmupMs: number,
  durationMs: number,
  loop: (worker: number, inWindow: (started: number, ended: number) => boolean, stop: () => boolean) => Promise<void>,
  serverPid?: number | readonly number[],
): Promise<{ windowStart: number; windowEnd: number; serverCpuMs: number | null; loadCpuMs: number }> {
  const begin = performance.now();
  const windowStart = begin + warmupMs;
  const windowEnd = windowStart + durationMs;
  const inWindow = (started: number, ended: number) => started >= windowStart && ended <= windowEnd;
  const stop = () => performance.now() >= windowEnd;
  // CPU used by the server and by this process during the measured window.
  const ownCpuMs = () => (process.cpuUsage().user + process.cpuUsage().system) / 1000;
  const serverCpuMs = serverPid === undefined ? () => undefined : () => sumCpuMs(serverPid);
  let atStart: { server: number | undefined; load: number } | undefined;
  let used: { server: number | undefined; load: number } | undefined;
  const markStart = () => (atStart = { server: serverCpuMs(), load: ownCpuMs() });
  const markEnd = () => {
    if (used || !atStart) return;
    const server = serverCpuMs();
    const before = atStart.server;
    used = { server: server === undefined || before === undefined ? undefined : server - before, load: ownCpuMs() - atStart.load };
  };
  const marks = [setTimeout(markStart, warmupMs), setTimeout(markEnd, warmupMs + durationMs)];
  try {
    await Promise.all(Array.from({ length: workers }, (_, w) => loop(w, inWindow, stop)));
  } finally {
    for (const mark of marks) clearTimeout(mark);
  }
  // The loops can end a moment before the timer that closes the window: the reading is taken here then.
  markEnd();
  const serverCpu = used?.server;
  const loadCpu = used?.load ?? 0;
  return { windowStart, windowEnd, serverCpuMs: serverCpu ?? null, loadCpuMs: Math.round(loadCpu) };
}
