/**
 * RPC round trip on loopback: the hub runs in a child process; this process holds one agent that completes each
 * task as its `task.assigned` event arrives over SSE, and a caller making sequential `POST /api/tasks/rpc` calls.
 *
 *   npx tsx scripts/rpc-roundtrip.ts [--calls 1000] [--warmup 50]
 *
 * Prints p50/p90/p99/max of the calls (after the warm-up), in milliseconds.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { EventSource } from 'eventsource';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '1000' }, warmup: { type: 'string', default: '50' } },
});
const calls = Number(values.calls);
const warmup = Number(values.warmup);
const root = path.resolve(import.meta.dirname, '..');

/** Starts `src/main.ts` in a child process on port 0 and resolves with its URL once it listens. */
function startHub(dataDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      TASKHUB_DATA_DIR: dataDir,
      TASKHUB_SMTP_PORT: '0',
      TASKHUB_RATE_LIMIT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`hub exited with ${code}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /"msg":"taskhub listening on (\S+?)"/.exec(line);
      if (match) resolve(match[1]!);
    });
  });
  return { child, url };
}

async function post(url: string, token: string, body: unknown): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** An agent that completes every task delivered to it, echoing the payload. */
async function startWorker(base: string, token: string) {
  const es = new EventSource(`${base}/api/events`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } }),
  });
  es.addEventListener('task.assigned', (event) => {
    const { task } = JSON.parse(event.data) as { task: { id: string; payload: unknown } };
    post(`${base}/api/tasks/${task.id}/complete`, token, { result: task.payload }).catch((error: unknown) => {
      console.error('worker:', error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    es.addEventListener('ready', () => resolve(), { once: true });
    es.addEventListener('error', (error) => reject(new Error(`stream: ${error.message}`)), { once: true });
  });
  return es;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-rpc-bench-'));
  const hub = startHub(dataDir);
  try {
    const base = await hub.url;
    const admin = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
    const caller = (await post(`${base}/api/agents`, admin, { name: 'caller' })).token as string;
    const worker = (await post(`${base}/api/agents`, admin, { name: 'worker', capabilities: ['echo'] })).token as string;
    const es = await startWorker(base, worker);

    const samples: number[] = [];
    for (let i = 0; i < warmup + calls; i++) {
      const started = performance.now();
      const answer = await post(`${base}/api/tasks/rpc`, caller, { capability: 'echo', task: 'echo', payload: { i } });
      const elapsed = performance.now() - started;
      if (answer.status !== 'completed' || answer.result.i !== i) throw new Error(`bad answer ${JSON.stringify(answer)}`);
      if (i >= warmup) samples.push(elapsed);
    }
    es.close();

    const sorted = [...samples].sort((a, b) => a - b);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const ms = (n: number) => n.toFixed(2);
    console.log(`rpc round trip over ${calls} sequential calls (after ${warmup} warm-up), loopback, hub in a child process`);
    console.log(
      `p50 ${ms(percentile(sorted, 50))} ms  p90 ${ms(percentile(sorted, 90))} ms  p99 ${ms(percentile(sorted, 99))} ms  ` +
        `max ${ms(sorted.at(-1)!)} ms  mean ${ms(mean)} ms`,
    );
  } finally {
    if (hub.child.exitCode === null && hub.child.signalCode === null) {
      const exited = new Promise((resolve) => hub.child.once('exit', resolve));
      hub.child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
