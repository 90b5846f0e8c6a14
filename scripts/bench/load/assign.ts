/**
 * Assignment throughput: creators addressing tasks to listening agents (by name, round robin), with the time from
 * each request to its `task.assigned` event on the target's stream, and a check that every created task arrives
 * exactly once.
 */
import { summarize, type Latency } from '../stats.js';
import { createJsonClient, openSse, type SseStream } from './http.js';
import { createAgents, names, sleep, timedLoops } from './setup.js';
import { cpuUse, type CpuUse, type ThroughputParams } from './throughput.js';

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

/** The listening agents' streams, counting arrivals per task key and the push latency of each. */
function listen(url: string, tokens: Iterable<string>, sentAt: Map<string, number>) {
  const arrivals = new Map<string, number>();
  const push: Array<[started: number, ms: number]> = [];
  const streams: SseStream[] = [...tokens].map((token) =>
    openSse(`${url}/api/events`, token, (event) => {
      if (event.type !== 'task.assigned') return;
      const now = performance.now();
      const { task } = JSON.parse(event.data) as { task: { payload: { k: string } } };
      const key = task.payload.k;
      arrivals.set(key, (arrivals.get(key) ?? 0) + 1);
      const started = sentAt.get(key);
      if (started !== undefined) push.push([started, now - started]);
    }),
  );
  return { streams, arrivals, push };
}

export async function assignThroughput(p: ThroughputParams): Promise<AssignThroughput> {
  const client = createJsonClient(p.url, p.clients);
  const creators = [...(await createAgents(client, p.adminToken, names('creator', p.clients))).values()];
  const listeners = await createAgents(client, p.adminToken, names('listener', p.agents));
  const targets = [...listeners.keys()];
  const sentAt = new Map<string, number>();
  const { streams, arrivals, push } = listen(p.url, listeners.values(), sentAt);
  const created = new Set<string>();
  let inWindow = 0;
  let errors = 0;
  let window = { windowStart: 0, windowEnd: 0, serverCpuMs: null as number | null, loadCpuMs: 0 };
  try {
    await Promise.all(streams.map((s) => s.opened));
    window = await timedLoops(p.clients, p.warmupMs, p.durationMs, async (w, counts, stop) => {
      for (let i = 0; !stop(); i++) {
        const k = `${w}:${i}`;
        const started = performance.now();
        sentAt.set(k, started);
        const body = { target: targets[(w + i) % targets.length], task: 't', payload: { k } };
        const answer = await client.post('/api/tasks', creators[w], body);
        if (answer.status !== 201) errors += 1;
        else if ((created.add(k), counts(started, performance.now()))) inWindow += 1;
      }
    }, p.pid);
    const settleBy = performance.now() + SETTLE_MS;
    while ([...created].some((k) => !arrivals.has(k)) && performance.now() < settleBy) await sleep(50);
  } finally {
    for (const s of streams) s.close();
    client.close();
  }
  const inRun = push.filter(([started]) => started >= window.windowStart && started <= window.windowEnd);
  return {
    tasksPerS: Math.round(inWindow / (p.durationMs / 1000)),
    // Latency of the tasks created inside the measured window only.
    push: summarize(inRun.map(([, ms]) => ms)),
    created: created.size,
    delivered: arrivals.size,
    duplicates: [...arrivals.values()].filter((n) => n > 1).length,
    missing: [...created].filter((k) => !arrivals.has(k)).length,
    errors,
    cpu: cpuUse(inWindow, p.durationMs, window),
  };
}
