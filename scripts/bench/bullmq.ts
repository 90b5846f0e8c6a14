/**
 * The BullMQ baseline (issue 17): BullMQ on a Redis the bench starts itself, measured in the same run as the hub
 * with the same loops — a sequential round trip, then `rpcCallers` concurrent callers — each on a fresh Redis with
 * one worker process (concurrency `rpcAgents`). Skipped with a notice when `redis-server` is not installed.
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Latency } from './stats.js';
import type { BenchSizes } from './sizes.js';
import type { BullmqThroughput } from './load/bullmq.js';
import type { RpcThroughput } from './load/throughput.js';
import { freePort, runLoad, spawnNode, stopChild } from './processes.js';
import { findRedisServer, REDIS_ARGS, startRedis, type RedisChild } from './servers/redis.js';

export interface BullmqResults {
  /** Why it did not run, when it did not. */
  skipped?: string;
  redisVersion?: string;
  workerConcurrency: number;
  roundtrip?: Latency;
  throughput?: BullmqThroughput;
}

export const BULLMQ_QUEUE = 'bench-echo';
const BULLMQ_VERSION: string = createRequire(import.meta.url)('bullmq/package.json').version;

/** The worker process, resolved once it says it is connected; stopped (and awaited) by the caller. */
async function startWorker(redisPort: number, concurrency: number): Promise<ChildProcess> {
  const env = { REDIS_PORT: String(redisPort), BULLMQ_QUEUE, BULLMQ_CONCURRENCY: String(concurrency) };
  const proc = spawnNode([path.join(import.meta.dirname, 'servers', 'bullmq-worker.ts')], env, true);
  try {
    await new Promise<void>((resolve, reject) => {
      const cut = setTimeout(() => reject(new Error('bullmq worker did not get ready in 30 s')), 30_000);
      proc.once('message', () => (clearTimeout(cut), resolve()));
      proc.once('exit', (code) => (clearTimeout(cut), reject(new Error(`bullmq worker exited with ${code}`))));
    });
  } catch (error) {
    await stopChild(proc);
    throw error;
  }
  return proc;
}

/** A fresh Redis and a worker on it for one measurement; both stopped afterwards, worker first. */
export async function withBaseline<T>(command: string, concurrency: number, use: (redis: RedisChild, worker: ChildProcess) => Promise<T>) {
  const redis = await startRedis(command, await freePort());
  try {
    const worker = await startWorker(redis.port, concurrency);
    try {
      return await use(redis, worker);
    } finally {
      await stopChild(worker);
    }
  } finally {
    await redis.stop();
  }
}

export async function measureBullmq(s: BenchSizes, log: (line: string) => void): Promise<BullmqResults> {
  const concurrency = s.rpcAgents;
  const command = findRedisServer();
  if (!command) {
    log('bullmq: skipped, redis-server is not installed (set REDIS_SERVER to its path)');
    return { skipped: 'redis-server not installed', workerConcurrency: concurrency };
  }
  log(`bullmq: redis-server started by the bench (${REDIS_ARGS.join(' ')} --save ''), one worker process, concurrency ${concurrency}`);
  const results: BullmqResults = { workerConcurrency: concurrency };
  log('bullmq: sequential round trips (queue.add + job.waitUntilFinished)');
  results.roundtrip = await withBaseline(command, concurrency, (redis) => {
    results.redisVersion = redis.version;
    const params = { redisPort: redis.port, queue: BULLMQ_QUEUE, calls: s.roundtripCalls, warmup: s.warmupCalls };
    return runLoad<Latency>({ scenario: 'bullmqRoundtrip', params }, 120_000);
  });
  log(`bullmq: ${s.rpcCallers} concurrent callers, ${s.durationMs / 1000} s`);
  results.throughput = await withBaseline(command, concurrency, (redis, worker) => {
    const params = {
      redisPort: redis.port, queue: BULLMQ_QUEUE, clients: s.rpcCallers, durationMs: s.durationMs, warmupMs: s.warmupMs,
      pids: [redis.pid, worker.pid!],
    };
    return runLoad<BullmqThroughput>({ scenario: 'bullmqThroughput', params }, s.warmupMs + s.durationMs + 90_000);
  });
  return results;
}

/** Issue 17's targets, as ratios to BullMQ in the same run, and the hub's CPU per rpc at `rpcCallers`. */
export const BULLMQ_TARGETS = { rpcPerSOverBullmq: 1.0, rpcP50OverBullmq: 1.0, hubCpuUsPerRpc: 120 };

type Row = [what: string, taskhub: string, baseline: string, target: string, met: string];
interface RpcFigures {
  sizes: BenchSizes;
  rpcRoundtrip?: Latency;
  rpcThroughput?: RpcThroughput;
  bullmq?: BullmqResults;
}

const ms = (n: number) => `${n.toFixed(2)} ms`;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const met = (ok: boolean) => (ok ? 'yes' : '**no**');

/** The report's rows comparing taskhub's rpc with BullMQ (none when BullMQ did not run). */
export function bullmqRows(r: RpcFigures): Row[] {
  const b = r.bullmq;
  if (!b || b.skipped) return b ? [['BullMQ baseline', '–', `skipped: ${b.skipped}`, '–', '']] : [];
  const out: Row[] = [];
  const setup = `BullMQ ${BULLMQ_VERSION} + Redis ${b.redisVersion}, 1 worker process × ${b.workerConcurrency}`;
  const rt = r.rpcRoundtrip;
  if (b.roundtrip) {
    const x = rt ? ratio(rt.p50Ms, b.roundtrip.p50Ms) : undefined;
    out.push([
      `RPC vs BullMQ: sequential round trip p50 / p99 (${b.roundtrip.count.toLocaleString('en-US')} calls)`,
      rt ? `${ms(rt.p50Ms)} / ${ms(rt.p99Ms)} (p50 = ${x}× BullMQ)` : '–',
      `${setup}: ${ms(b.roundtrip.p50Ms)} / ${ms(b.roundtrip.p99Ms)}`,
      `p50 ≤ ${BULLMQ_TARGETS.rpcP50OverBullmq}× BullMQ`,
      x === undefined ? '' : met(x <= BULLMQ_TARGETS.rpcP50OverBullmq),
    ]);
  }
  const t = r.rpcThroughput;
  const bt = b.throughput;
  if (bt) {
    const x = t ? ratio(t.callsPerS, bt.callsPerS) : undefined;
    out.push([
      `RPC vs BullMQ: ${r.sizes.rpcCallers} concurrent callers`,
      t ? `${t.callsPerS.toLocaleString('en-US')} calls/s (${x}× BullMQ), p99 ${ms(t.p99Ms)}` : '–',
      `${setup}: ${bt.callsPerS.toLocaleString('en-US')} calls/s, p99 ${ms(bt.p99Ms)}${bt.errors ? `, ${bt.errors} errors` : ''}`,
      `≥ ${BULLMQ_TARGETS.rpcPerSOverBullmq}× BullMQ`,
      x === undefined ? '' : met(x >= BULLMQ_TARGETS.rpcPerSOverBullmq && t!.errors === 0),
    ]);
    const hub = t?.cpu.hubCpuUsPerOp ?? null;
    out.push([
      `Server-side CPU per call at ${r.sizes.rpcCallers} callers`,
      hub === null ? '–' : `hub ${hub} µs`,
      `redis + worker ${bt.cpu.hubCpuUsPerOp ?? '–'} µs (${bt.cpu.hubCores ?? '–'} cores busy)`,
      `hub ≤ ${BULLMQ_TARGETS.hubCpuUsPerRpc} µs`,
      hub === null ? '' : met(hub <= BULLMQ_TARGETS.hubCpuUsPerRpc),
    ]);
  }
  return out;
}

/** The note under the table saying how the baseline was run. */
export function bullmqNote(r: RpcFigures): string | undefined {
  const b = r.bullmq;
  if (!b) return undefined;
  if (b.skipped) return `BullMQ baseline skipped: ${b.skipped}.`;
  return (
    `BullMQ baseline: \`redis-server --port <free> ${REDIS_ARGS.join(' ')} --dir <tmp> --save ''\` started by the bench ` +
    `(a fresh one per measurement, stopped afterwards); callers do \`queue.add()\` then \`job.waitUntilFinished(queueEvents)\` ` +
    `from one process, one worker process with concurrency ${b.workerConcurrency} echoes each job; its CPU is Redis's + the worker's.`
  );
}
