/**
 * What one call costs the server side when calls run one at a time (the sequential round trip, where each of the
 * hub's changes commits alone), for taskhub and for BullMQ in the same run: `--calls N` sequential calls after
 * `--warmup W`, through the bench's echo agent on a hub started as `npm start` does, then through BullMQ's worker
 * (the bench's concurrency) on a fresh Redis when `redis-server` is installed. A first run of W calls warms the
 * server up; the second, W calls of its own client's warm-up and then the N measured, is counted: the CPU per call
 * over all of its calls, the hub's by thread (`/proc/<pid>/task/*\/stat`, Linux), BullMQ's as Redis's plus the
 * worker process's.
 *
 *   npx tsx scripts/bench/sequential-cpu.ts [--calls 3000] [--warmup 2500]
 *
 * Set beside the bench's CPU per call at 64 callers, it says how much of a call's cost batching shares.
 */
import { parseArgs } from 'node:util';
import { BULLMQ_QUEUE, withBaseline } from './bullmq.js';
import { cpuMs, runLoad, startHub, threadCpuMs } from './processes.js';
import { findRedisServer } from './servers/redis.js';
import { FULL } from './sizes.js';
import type { Latency } from './stats.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '3000' }, warmup: { type: 'string', default: '2500' } } });
const calls = Number(values.calls);
const warmup = Number(values.warmup);
const LIMIT_MS = 600_000;

/** The CPU of the measured run, warm-up included (the measured run warms its own client up, as the bench does). */
const perCall = (ms: number) => `${Math.round((ms / (calls + warmup)) * 1000)} µs`;

/**
 * Runs `run` once to warm the server up (`warmup` calls and one more), then again (`warmup`, then `calls`), and
 * returns the second run's latency and the CPU each of `pids` used during it, ms.
 */
async function measured(pids: number[], run: (round: 'warm' | 'measured', n: number) => Promise<Latency>) {
  await run('warm', 1);
  const before = pids.map((pid) => cpuMs(pid)!);
  const latency = await run('measured', calls);
  return { latency, used: pids.map((pid, i) => cpuMs(pid)! - before[i]!) };
}

async function taskhub(): Promise<void> {
  const hub = await startHub({ TASKHUB_RATE_LIMIT: '0' });
  try {
    let threadsBefore = new Map<string, number>();
    const { latency, used } = await measured([hub.pid], async (round, n) => {
      // The threads' figures start with the measured run, as `used` does.
      if (round === 'measured') threadsBefore = threadCpuMs(hub.pid);
      // A second run on one hub needs agents of its own.
      const names = round === 'warm' ? { caller: 'warm-caller', worker: 'warm-worker' } : { caller: 'caller', worker: 'worker' };
      const params = { url: hub.url, adminToken: hub.adminToken, calls: n, warmup, names };
      return runLoad<Latency>({ scenario: 'rpcRoundtrip', params }, LIMIT_MS);
    });
    console.log(`taskhub rpc: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms; hub CPU ${perCall(used[0]!)} per call`);
    for (const [thread, ms] of threadCpuMs(hub.pid)) {
      const spent = ms - (threadsBefore.get(thread) ?? 0);
      if (spent > 0) console.log(`  thread ${thread}: ${perCall(spent)}`);
    }
  } finally {
    await hub.stop();
  }
}

async function bullmq(): Promise<void> {
  const command = findRedisServer();
  if (!command) return console.log('BullMQ: skipped, redis-server is not installed (set REDIS_SERVER to its path)');
  await withBaseline(command, FULL.rpcAgents, async (redis, worker) => {
    const { latency, used } = await measured([redis.pid, worker.pid!], (_round, n) => {
      const params = { redisPort: redis.port, queue: BULLMQ_QUEUE, calls: n, warmup };
      return runLoad<Latency>({ scenario: 'bullmqRoundtrip', params }, LIMIT_MS);
    });
    const [redisMs, workerMs] = used as [number, number];
    console.log(`BullMQ: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms; Redis + worker CPU ${perCall(redisMs + workerMs)} per call (Redis ${perCall(redisMs)}, worker ${perCall(workerMs)})`);
  });
}

await taskhub();
await bullmq();
