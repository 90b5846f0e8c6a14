/**
 * What an rpc costs a hub on PostgreSQL, query by query: a throwaway cluster with pg_stat_statements, an
 * in-process hub, echo agents. It prints
 * - with `--callers 1` (the default): the last of `--calls` sequential rpcs as a timeline of every query the hub's
 *   pg clients sent and when each was answered, relative to the rpc's start;
 * - with `--callers N`: `--calls` rpcs from N concurrent callers, then the hub's queries per rpc by text and the
 *   server's time per statement (pg_stat_statements), the load that found routing's 374 µs count (docs/storage.md).
 *
 *   npx tsx scripts/bench/trace-postgres.ts [--calls 300] [--callers 64]
 *
 * Tracing wraps pg's Client.query and shares one process with the load: use it to find costs, never for speed
 * (that is `npm run bench -- --only postgres`).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startTaskhub } from '../../src/main.js';
import { findPostgresBinDir, startPostgresCluster } from '../postgres-cluster.js';
import { createJsonClient } from './load/http.js';
import { startEchoWorker } from './load/roundtrip.js';
import { createAgents, names, pool } from './load/setup.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '300' }, callers: { type: 'string', default: '1' } } });
const calls = Number(values.calls);
const callers = Number(values.callers);

let started = 0n;
let tracing = false;
let counting = false;
const timeline: string[] = [];
const counts = new Map<string, number>();
const ms = () => (Number(process.hrtime.bigint() - started) / 1e6).toFixed(2).padStart(7);
const clientProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const query = clientProto.query;
clientProto.query = function (this: { processID?: number }, ...args: unknown[]) {
  const config = args[0] as string | { text: string };
  const text = (typeof config === 'string' ? config : config.text).replace(/\s+/g, ' ').slice(0, 110);
  if (counting) counts.set(text, (counts.get(text) ?? 0) + 1);
  if (tracing) timeline.push(`${ms()} sent     [${this.processID}] ${text}`);
  const result = query.apply(this, args);
  if (tracing && result instanceof Promise) {
    result.then(() => tracing && timeline.push(`${ms()} answered [${this.processID}] ${text}`), () => {});
  }
  return result;
};

const binDir = findPostgresBinDir();
if (!binDir) throw new Error('no PostgreSQL on this machine (see scripts/postgres-cluster.ts)');
const cluster = await startPostgresCluster(binDir);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-trace-'));
// pg_stat_statements must be loaded at server start: set it, then restart the throwaway cluster.
try {
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await query.call(admin, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
  await admin.end();
  await cluster.halt();
  await cluster.resume();
} catch (error) {
  await cluster.stop();
  throw error;
}
const stats = new pg.Client({ connectionString: cluster.url });
await stats.connect();
const statsRun = (sql: string) => query.call(stats, sql) as Promise<pg.QueryResult>;
await statsRun('CREATE EXTENSION pg_stat_statements');

const hub = await startTaskhub(
  loadConfig({ PORT: '0', TASKHUB_SMTP_PORT: '0', LOG_LEVEL: 'silent', TASKHUB_RATE_LIMIT: '0', TASKHUB_BROADCAST_LIMIT: '0',
    TASKHUB_DATABASE_URL: cluster.url, TASKHUB_JWT_SECRET: randomBytes(24).toString('hex'), TASKHUB_DATA_DIR: dataDir }),
  pino({ level: 'silent' }),
);
const client = createJsonClient(hub.url, Math.max(1, callers));
const workers: ReturnType<typeof startEchoWorker>[] = [];
try {
  const callerTokens = [...(await createAgents(client, hub.adminToken, names('caller', callers))).values()];
  const tokens = await createAgents(client, hub.adminToken, names('worker', callers > 1 ? 8 : 1), { capabilities: ['echo'] });
  for (const token of tokens.values()) workers.push(startEchoWorker(hub.url, token, createJsonClient(hub.url, 8)));
  await Promise.all(workers.map((w) => w.opened));
  const rpc = async (i: number) => {
    const answer = await client.post('/api/tasks/rpc', callerTokens[i % callers]!, { capability: 'echo', task: 'echo', payload: { i } });
    if (answer.status !== 200 || answer.body.status !== 'completed') throw new Error(`rpc answered ${answer.status}`);
  };
  if (callers === 1) {
    for (let i = 0; i < calls; i++) {
      tracing = i === calls - 1;
      started = process.hrtime.bigint();
      await rpc(i);
      if (tracing) timeline.push(`${ms()} rpc answered`);
      tracing = false;
    }
    process.stdout.write(`${timeline.join('\n')}\n`);
    // The echo agent's own complete is answered after the rpc it answers: let it land before closing.
    await new Promise((resolve) => setTimeout(resolve, 100));
  } else {
    const run = (n: number) => pool(Array.from({ length: n }, (_, i) => i), callers, rpc);
    await run(Math.min(calls, 500));
    await statsRun('SELECT pg_stat_statements_reset()');
    counting = true;
    const begun = process.hrtime.bigint();
    await run(calls);
    const seconds = Number(process.hrtime.bigint() - begun) / 1e9;
    counting = false;
    let total = 0;
    process.stdout.write('  per rpc  query (the hub\'s pg clients)\n');
    for (const [text, n] of [...counts].sort((a, b) => b[1] - a[1])) {
      total += n;
      process.stdout.write(`${(n / calls).toFixed(2).padStart(9)}  ${text}\n`);
    }
    process.stdout.write(`${(total / calls).toFixed(2).padStart(9)}  in all; ${(calls / seconds).toFixed(0)} rpc/s in this process\n\n`);
    const { rows } = await statsRun(`SELECT calls, round(total_exec_time::numeric, 1) AS ms,
        round((total_exec_time / calls * 1000)::numeric, 1) AS each, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS q
      FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 15`);
    process.stdout.write('    calls    server ms   µs each  statement (pg_stat_statements)\n');
    for (const r of rows) {
      process.stdout.write(`${String(r.calls).padStart(9)} ${String(r.ms).padStart(12)} ${String(r.each).padStart(9)}  ${r.q}\n`);
    }
  }
} finally {
  for (const w of workers) w.close();
  client.close();
  await hub.stop();
  await stats.end();
  await cluster.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
