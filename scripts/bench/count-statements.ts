/**
 * Counts the SQLite statements an rpc costs the hub: an in-process hub on a fresh data dir, 8 echo agents with
 * capability `echo`, `--calls N` rpcs after a warm-up from `--callers C` concurrent callers (1: sequential, where
 * every change commits alone; 64: the bench's load, where group commit shares a commit between changes), then each
 * statement's executions per rpc.
 *
 *   npx tsx scripts/bench/count-statements.ts [--calls 2000] [--callers 64]
 *
 * Counting happens by wrapping better-sqlite3's Statement methods, so it costs time: use it for counts, never
 * for speed (that is `npm run bench`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startTaskhub } from '../../src/main.js';
import { createJsonClient } from './load/http.js';
import { startEchoWorker } from './load/roundtrip.js';
import { createAgents, names, pool } from './load/setup.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '2000' }, callers: { type: 'string', default: '64' } } });
const calls = Number(values.calls);
const callers = Number(values.callers);

const counts = new Map<string, number>();
/** Wall time inside each statement, ns (the hub is single-threaded, so this is the hub's time in SQLite). */
const spent = new Map<string, bigint>();
let counting = false;
const probe = new Database(':memory:').prepare('SELECT 1');
const proto = Object.getPrototypeOf(probe) as Record<string, (...args: unknown[]) => unknown>;
for (const method of ['run', 'get', 'all', 'iterate']) {
  const original = proto[method]!;
  proto[method] = function (this: { source: string }, ...args: unknown[]) {
    if (!counting) return original.apply(this, args);
    const key = this.source.replace(/\s+/g, ' ').trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const started = process.hrtime.bigint();
    try {
      return original.apply(this, args);
    } finally {
      spent.set(key, (spent.get(key) ?? 0n) + process.hrtime.bigint() - started);
    }
  };
}
const execOriginal = Database.prototype.exec;
Database.prototype.exec = function (sql: string) {
  if (!counting) return execOriginal.call(this, sql);
  const key = `exec: ${sql}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  const started = process.hrtime.bigint();
  try {
    return execOriginal.call(this, sql);
  } finally {
    spent.set(key, (spent.get(key) ?? 0n) + process.hrtime.bigint() - started);
  }
};

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-count-'));
const hub = await startTaskhub(
  loadConfig({ PORT: '0', TASKHUB_DATA_DIR: dataDir, TASKHUB_SMTP_PORT: '0', LOG_LEVEL: 'silent',
    TASKHUB_RATE_LIMIT: '0', TASKHUB_BROADCAST_LIMIT: '0' }),
  pino({ level: 'silent' }),
);
const client = createJsonClient(hub.url, callers);
const workers: ReturnType<typeof startEchoWorker>[] = [];
try {
  const callerTokens = [...(await createAgents(client, hub.adminToken, names('caller', callers))).values()];
  const tokens = await createAgents(client, hub.adminToken, names('worker', 8), { capabilities: ['echo'] });
  for (const token of tokens.values()) workers.push(startEchoWorker(hub.url, token, createJsonClient(hub.url, 8)));
  await Promise.all(workers.map((w) => w.opened));
  const rpc = async (i: number) => {
    const answer = await client.post('/api/tasks/rpc', callerTokens[i % callers]!, { capability: 'echo', task: 'echo', payload: { i } });
    if (answer.status !== 200 || answer.body.status !== 'completed') throw new Error(`rpc answered ${answer.status}`);
  };
  const run = (n: number) => pool(Array.from({ length: n }, (_, i) => i), callers, rpc);
  await run(Math.min(calls, 500));
  counting = true;
  await run(calls);
  counting = false;
} finally {
  for (const w of workers) w.close();
  client.close();
  await hub.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
const rows = [...counts].sort((a, b) => b[1] - a[1]);
let total = 0;
let totalNs = 0n;
const usPerRpc = (ns: bigint) => (Number(ns) / 1000 / calls).toFixed(1).padStart(6);
process.stdout.write('  per rpc   µs/rpc  statement\n');
for (const [sql, n] of rows) {
  total += n;
  totalNs += spent.get(sql) ?? 0n;
  process.stdout.write(`${(n / calls).toFixed(2).padStart(9)}  ${usPerRpc(spent.get(sql) ?? 0n)}  ${sql.slice(0, 150)}\n`);
}
process.stdout.write(`${(total / calls).toFixed(2).padStart(9)}  ${usPerRpc(totalNs)}  in all (${calls} rpcs, ${callers} callers)\n`);
