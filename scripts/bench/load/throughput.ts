/**
 * Throughput under concurrency: RPCs (callers waiting on agents that complete each task at once) and plain
 * assignment (creators addressing tasks to listening agents, with push latency and an exactly-once check).
 */
import { summarize, type Latency } from '../stats.js';
import { createJsonClient, openSse, type SseStream } from './http.js';
import { startEchoWorker } from './roundtrip.js';
import { createAgents, names, sleep, timedLoops } from './setup.js';

export interface ThroughputParams {
  url: string;
  adminToken: string;
  /** Concurrent callers or creators. */
  clients: number;
  /** Agents answering or listening. */
  agents: number;
  durationMs: number;
  warmupMs: number;
  /** The hub's pid, whose CPU time is read from /proc. */
  pid?: number;
}

/** CPU the hub and the load generator used in the measured window, per operation (µs) and as cores busy. */
export interface CpuUse {
  hubCpuUsPerOp: number | null;
  hubCores: number | null;
  loadCores: number;
}

function cpuUse(ops: number, durationMs: number, window: { serverCpuMs: number | null; loadCpuMs: number }): CpuUse {
  const round2 = (n: number) => Math.round(n * 100) / 100;
  return {
    hubCpuUsPerOp: window.serverCpuMs === null || ops === 0 ? null : Math.round((window.serverCpuMs * 1000) / ops),
    hubCores: window.serverCpuMs === null ? null : round2(window.serverCpuMs / durationMs),
    loadCores: round2(window.loadCpuMs / durationMs),
  };
}

export interface RpcThroughput extends Latency {
  callsPerS: number;
  errors: number;
  cpu: CpuUse;
}

export async function rpcThroughput(p: ThroughputParams): Promise<RpcThroughput> {
  const client = createJsonClient(p.url, p.clients);
  const callers = await createAgents(client, p.adminToken, names('caller', p.clients));
  const workers = await createAgents(client, p.adminToken, names('worker', p.agents), { capabilities: ['echo'] });
  const running = [...workers.values()].map((token) => startEchoWorker(p.url, token, createJsonClient(p.url, 8)));
  const samples: number[] = [];
  let errors = 0;
  let window = { serverCpuMs: null as number | null, loadCpuMs: 0 };
  try {
    await Promise.all(running.map((w) => w.opened));
    const tokens = [...callers.values()];
    window = await timedLoops(p.clients, p.warmupMs, p.durationMs, async (w, inWindow, stop) => {
      for (let i = 0; !stop(); i++) {
        const started = performance.now();
        const answer = await client.post('/api/tasks/rpc', tokens[w], { capability: 'echo', task: 'echo', payload: { w, i } });
        const ended = performance.now();
        const ok = answer.status === 200 && answer.body.status === 'completed' && answer.body.result?.i === i;
        if (!ok) errors += 1;
        else if (inWindow(started, ended)) samples.push(ended - started);
      }
    }, p.pid);
  } finally {
    for (const w of running) w.close();
    client.close();
  }
  return {
    ...summarize(samples),
    callsPerS: Math.round(samples.length / (p.durationMs / 1000)),
    errors,
    cpu: cpuUse(samples.length, p.durationMs, window),
  };
}

export interface AssignThroughput {
  tasksPerS: number;
  push: Latency;
  created: number;
  delivered: number;
  duplicates: number;
  missing: number;
  errors: number;
  cpu: CpuUse;
}

/** How long to wait after the run for events still on their way before counting them missing (ms). */
const SETTLE_MS = 5000;

export async function assignThroughput(p: ThroughputParams): Promise<AssignThroughput> {
  const client = createJsonClient(p.url, p.clients);
  const creators = [...(await createAgents(client, p.adminToken, names('creator', p.clients))).values()];
  const listeners = await createAgents(client, p.adminToken, names('listener', p.agents));
  const sentAt = new Map<string, number>();
  const arrivals = new Map<string, number>();
  const push: Array<[started: number, ms: number]> = [];
  const streams: SseStream[] = [...listeners].map(([, token]) =>
    openSse(`${p.url}/api/events`, token, (event) => {
      if (event.type !== 'task.assigned') return;
      const now = performance.now();
      const { task } = JSON.parse(event.data) as { task: { payload: { k: string } } };
      const key = task.payload.k;
      arrivals.set(key, (arrivals.get(key) ?? 0) + 1);
      const started = sentAt.get(key);
      if (started !== undefined) push.push([started, now - started]);
    }),
  );
  const created = new Set<string>();
  let inWindow = 0;
  let errors = 0;
  let window = { windowStart: 0, windowEnd: 0, serverCpuMs: null as number | null, loadCpuMs: 0 };
  try {
    await Promise.all(streams.map((s) => s.opened));
    const targets = [...listeners.keys()];
    window = await timedLoops(p.clients, p.warmupMs, p.durationMs, async (w, counts, stop) => {
      for (let i = 0; !stop(); i++) {
        const k = `${w}:${i}`;
        const started = performance.now();
        sentAt.set(k, started);
        const answer = await client.post('/api/tasks', creators[w], { target: targets[(w + i) % targets.length], task: 't', payload: { k } });
        if (answer.status !== 201) {
          errors += 1;
          continue;
        }
        created.add(k);
        if (counts(started, performance.now())) inWindow += 1;
      }
    }, p.pid);
    const settleBy = performance.now() + SETTLE_MS;
    while ([...created].some((k) => !arrivals.has(k)) && performance.now() < settleBy) await sleep(50);
  } finally {
    for (const s of streams) s.close();
    client.close();
  }
  const missing = [...created].filter((k) => !arrivals.has(k)).length;
  const duplicates = [...arrivals.values()].filter((n) => n > 1).length;
  return {
    tasksPerS: Math.round(inWindow / (p.durationMs / 1000)),
    // Latency of the tasks created inside the measured window only.
    push: summarize(push.filter(([started]) => started >= window.windowStart && started <= window.windowEnd).map(([, ms]) => ms)),
    created: created.size,
    delivered: arrivals.size,
    duplicates,
    missing,
    errors,
    cpu: cpuUse(inWindow, p.durationMs, window),
  };
}
