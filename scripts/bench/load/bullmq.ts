/**
 * The BullMQ baseline's callers: what a team would write instead of `POST /api/tasks/rpc` — `queue.add()` then
 * `job.waitUntilFinished(queueEvents)` — against the worker process in `servers/bullmq-worker.ts`. One `Queue`
 * and one `QueueEvents` per process, shared by every caller, as an application would hold them.
 */
import { Queue, QueueEvents } from 'bullmq';
import { summarize, type Latency } from '../stats.js';
import { timedLoops } from './setup.js';
import { cpuUse, type CpuUse } from './throughput.js';

export interface BullmqParams {
  redisPort: number;
  queue: string;
}

export interface BullmqRoundtripParams extends BullmqParams {
  calls: number;
  warmup: number;
}

export interface BullmqThroughputParams extends BullmqParams {
  clients: number;
  durationMs: number;
  warmupMs: number;
  /** Redis and the worker process: the baseline's server side, whose CPU is summed. */
  pids: number[];
}

export interface BullmqThroughput extends Latency {
  callsPerS: number;
  errors: number;
  /** `hubCpuUsPerOp` here is Redis + the worker process. */
  cpu: CpuUse;
}

type Call = (data: { w: number; i: number }) => Promise<void>;

/**
 * Events the queue's events stream keeps (BullMQ's default is about 10,000). `waitUntilFinished` hears of a job's
 * end only through that stream: at 64 callers it takes several events per job at thousands of jobs a second, so a
 * caller process descheduled for a fraction of a second can find its jobs' events trimmed and wait for ever (the
 * likely cause of a full bench run that hung once). A team running this load would raise it the same way.
 */
const EVENTS_KEPT = 1_000_000;
/** Longest one call waits for its job's end before it counts as an error instead of stalling the run, ms. */
const CALL_LIMIT_MS = 30_000;

/** Opens the queue and its events, runs `use` with one echo call, and closes both whatever happens. */
async function withQueue<T>(p: BullmqParams, callers: number, use: (call: Call) => Promise<T>): Promise<T> {
  const connection = { host: '127.0.0.1', port: p.redisPort };
  const queue = new Queue(p.queue, { connection, streams: { events: { maxLen: EVENTS_KEPT } } });
  const events = new QueueEvents(p.queue, { connection });
  // Each waiting `waitUntilFinished` holds a listener on both: as many as there are callers, by design.
  queue.setMaxListeners(callers + 16);
  events.setMaxListeners(callers + 16);
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return await use(async (data) => {
      const job = await queue.add('echo', data);
      const result = (await job.waitUntilFinished(events, CALL_LIMIT_MS)) as typeof data;
      if (result?.w !== data.w || result.i !== data.i) throw new Error(`bullmq answered ${JSON.stringify(result)}`);
    });
  } finally {
    await events.close();
    await queue.close();
  }
}

export function bullmqRoundtrip(p: BullmqRoundtripParams): Promise<Latency> {
  return withQueue(p, 1, async (call) => {
    const samples: number[] = [];
    for (let i = 0; i < p.warmup + p.calls; i++) {
      const started = performance.now();
      await call({ w: 0, i });
      if (i >= p.warmup) samples.push(performance.now() - started);
    }
    return summarize(samples);
  });
}

export function bullmqThroughput(p: BullmqThroughputParams): Promise<BullmqThroughput> {
  return withQueue(p, p.clients, async (call) => {
    const samples: number[] = [];
    let errors = 0;
    const window = await timedLoops(p.clients, p.warmupMs, p.durationMs, async (w, inWindow, stop) => {
      for (let i = 0; !stop(); i++) {
        const started = performance.now();
        const ok = await call({ w, i }).then(() => true, () => false);
        const ended = performance.now();
        if (!ok) errors += 1;
        else if (inWindow(started, ended)) samples.push(ended - started);
      }
    }, p.pids);
    return {
      ...summarize(samples),
      callsPerS: Math.round(samples.length / (p.durationMs / 1000)),
      errors,
      cpu: cpuUse(samples.length, p.durationMs, window),
    };
  });
}
