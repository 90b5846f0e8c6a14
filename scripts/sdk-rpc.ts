/**
 * `rpc()` through the SDK against an SDK worker: the hub, the caller and the worker share this process (so the
 * figures include all three on one event loop). Sequential calls give the latency of one call (rpc + delivery +
 * claim + complete); the concurrent batch gives a throughput, bounded by the worker's `--concurrency`.
 *
 *   npx tsx scripts/sdk-rpc.ts [--calls 300] [--concurrency 16]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { TaskhubClient } from '../src/client/index.js';
import { loadConfig } from '../src/config.js';
import { startTaskhub } from '../src/main.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '16' } } });
const calls = Number(values.calls);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-sdk-rpc-'));
const config = loadConfig({ PORT: '0', TASKHUB_DATA_DIR: dataDir, TASKHUB_SMTP_PORT: '0', TASKHUB_RATE_LIMIT: '0' });
const hub = await startTaskhub(config, pino({ level: 'silent' }));
try {
  const admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
  const caller = new TaskhubClient({ url: hub.url, token: (await admin.createAgent({ name: 'caller' })).token });
  const botToken = (await admin.createAgent({ name: 'bot', capabilities: ['echo'] })).token;
  const worker = new TaskhubClient({ url: hub.url, token: botToken }).worker({
    capabilities: { echo: (payload) => payload },
    concurrency: Number(values.concurrency),
  });
  await worker.ready;
  const call = (i: number) => caller.rpc({ capability: 'echo', task: 'echo', payload: i });
  for (let i = 0; i < 20; i++) await call(i);

  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    await call(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
  const start = performance.now();
  await Promise.all(Array.from({ length: calls }, (_, i) => call(i)));
  const seconds = (performance.now() - start) / 1000;
  console.log(`sequential: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms`);
  console.log(`concurrent: ${calls} calls in ${seconds.toFixed(2)} s (${Math.round(calls / seconds)}/s)`);
  await worker.stop();
} finally {
  await hub.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
