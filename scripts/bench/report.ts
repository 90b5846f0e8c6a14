/** Turns the figures into `bench/results.json` and a table a person can read (`bench/results.md`). */
import fs from 'node:fs';
import path from 'node:path';
import type { BenchResults } from './harness.js';
import type { AssignThroughput } from './load/assign.js';
import type { CpuUse, RpcThroughput } from './load/throughput.js';
import { bullmqNote, bullmqRows } from './bullmq.js';

/** The issue's targets on a 2-core machine. */
export const TARGETS = {
  rpcP50OverFloor: 4,
  /** Issue 13: an A2A SendMessage round trip within 1.3x the rpc one. */
  a2aP50OverRpc: 1.3,
  rpcPerS: 3000,
  tasksPerS: 5000,
  pushP99Ms: 20,
  bytesPerStream: 20 * 1024,
  broadcastOverTrivial: 1.5,
  /** Issue 12: webhook deliveries to one receiver, and the p50 of event → webhook within this of a bare POST. */
  webhookDeliveriesPerS: 2000,
  webhookP50OverBareMs: 2,
  /** The SQLite figures before the async store and PostgreSQL, which they may fall short of by 10% at most. */
  sqliteBefore: { rpcPerS: 3300, tasksPerS: 7400, pushP99Ms: 12, slack: 0.1 },
  postgres: { rpcPerS: 1500, tasksPerS: 2500, pushP99Ms: 50, crossHubP50Ms: 5 },
};

const before = TARGETS.sqliteBefore;
const sqliteRpcFloor = Math.round(before.rpcPerS * (1 - before.slack));
const sqliteTasksFloor = Math.round(before.tasksPerS * (1 - before.slack));
const sqlitePushCeiling = Math.round(before.pushP99Ms * (1 + before.slack) * 10) / 10;

const ms = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : `${n.toFixed(2)} ms`);
const num = (n: number) => n.toLocaleString('en-US');
const kib = (bytes: number | null) => (bytes === null ? '–' : `${(bytes / 1024).toFixed(1)} KiB`);
const met = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'yes' : '**no**');

const cpu = (c: CpuUse) =>
  c.hubCpuUsPerOp === null ? `load generator ${c.loadCores} cores` : `hub ${c.hubCpuUsPerOp} µs CPU each (${c.hubCores} cores busy), load generator ${c.loadCores} cores`;

type Row = [what: string, taskhub: string, baseline: string, target: string, met: string];

const floorOf = (r: BenchResults) => (r.floor ? `floor ${ms(r.floor.p50Ms)} / ${ms(r.floor.p99Ms)}` : '–');

/** The throughput runs' baseline: the echo server under the RPC run's concurrency. */
const concurrentFloorOf = (r: BenchResults) => {
  const ft = r.floorThroughput;
  if (!ft) return floorOf(r);
  return `echo server, ${r.sizes.rpcCallers} clients: ${num(ft.requestsPerS)} req/s, ${ft.serverCpuUsPerRequest ?? '–'} µs CPU each`;
};

function roundtripRows(r: BenchResults): Row[] {
  const out: Row[] = [];
  if (r.floor) {
    out.push([`Floor: trivial echo server round trip p50 / p99 (${num(r.floor.count)} sequential)`, '–', floorOf(r), '–', '']);
  }
  const rt = r.rpcRoundtrip;
  if (rt) {
    out.push([
      `RPC round trip p50 / p99 (${num(rt.count)} sequential)`,
      `${ms(rt.p50Ms)} / ${ms(rt.p99Ms)} (p50 = ${rt.p50OverFloor}× floor)`,
      floorOf(r),
      `p50 ≤ ${TARGETS.rpcP50OverFloor}× floor`,
      met(rt.p50OverFloor <= TARGETS.rpcP50OverFloor),
    ]);
  }
  const a2a = r.a2aRoundtrip;
  if (a2a && rt) {
    out.push([
      `A2A SendMessage round trip p50 / p99 (${num(a2a.count)} sequential, same hub)`,
      `${ms(a2a.p50Ms)} / ${ms(a2a.p99Ms)} (p50 = ${a2a.p50OverRpc}× rpc)`,
      `rpc p50 ${ms(rt.p50Ms)}`,
      `p50 ≤ ${TARGETS.a2aP50OverRpc}× rpc`,
      met(a2a.p50OverRpc <= TARGETS.a2aP50OverRpc),
    ]);
  }
  return out;
}

function throughputRows(r: BenchResults): Row[] {
  const out: Row[] = [];
  const seconds = r.sizes.durationMs / 1000;
  const rpcRow = (what: string, t: RpcThroughput, target: string): Row => {
    const perRequest = t.callsPerRequest === undefined ? '' : `, ${t.callsPerRequest} calls per request`;
    return [
      what,
      `${num(t.callsPerS)} calls/s, p50 ${ms(t.p50Ms)}, p99 ${ms(t.p99Ms)}${t.errors ? `, ${t.errors} errors` : ''}${perRequest}; ${cpu(t.cpu)}`,
      concurrentFloorOf(r),
      target,
      met(t.callsPerS >= Math.max(TARGETS.rpcPerS, sqliteRpcFloor) && t.errors === 0),
    ];
  };
  const callers = r.sizes.rpcCallers;
  const agents = (t: RpcThroughput) => (t.agents === 1 ? 'one agent' : `${t.agents} agents`);
  const main = r.rpcThroughput;
  if (main) {
    const target = `≥ ${num(TARGETS.rpcPerS)} calls/s, and ≥ ${num(sqliteRpcFloor)} (${num(before.rpcPerS)} before, −10%)`;
    out.push(rpcRow(`RPC throughput (${callers} callers in one client, ${agents(main)}, ${seconds} s)`, main, target));
  }
  const shared = r.rpcThroughputAgents;
  if (shared) {
    const what = `RPC throughput, ${agents(shared)} (${callers} callers in one client)`;
    out.push(rpcRow(what, shared, 'as above (the measurement of 2026-12-06)'));
  }
  const each = r.rpcThroughputTokenEach;
  if (each) {
    const what = `RPC throughput, ${agents(each)}, a caller token each and a request per call (${callers} callers)`;
    out.push(rpcRow(what, each, 'as above (the measurement of before 2026-12-06)'));
  }
  const a = r.assign;
  if (a) {
    const once = a.missing === 0 && a.duplicates === 0 && a.errors === 0;
    out.push([
      `Assignment (${r.sizes.creators} creators, ${r.sizes.listeners} listening agents, ${seconds} s)`,
      `${num(a.tasksPerS)} tasks/s, push p50 ${ms(a.push.p50Ms)}, p99 ${ms(a.push.p99Ms)}; ` +
        `${num(a.delivered)}/${num(a.created)} delivered, ${a.duplicates} twice, ${a.missing} missing; ${cpu(a.cpu)}`,
      concurrentFloorOf(r),
      `≥ ${num(TARGETS.tasksPerS)} tasks/s, p99 ≤ ${TARGETS.pushP99Ms} ms, exactly once; and ≥ ${num(sqliteTasksFloor)} ` +
        `tasks/s, p99 ≤ ${sqlitePushCeiling} ms (${num(before.tasksPerS)}, ${before.pushP99Ms} ms before, 10% slack)`,
      met(
        a.tasksPerS >= Math.max(TARGETS.tasksPerS, sqliteTasksFloor) &&
          a.push.p99Ms <= Math.min(TARGETS.pushP99Ms, sqlitePushCeiling) &&
          once,
      ),
    ]);
  }
  return out;
}

function streamRows(r: BenchResults): Row[] {
  if (!r.streams) return [];
  const { hub, trivial } = r.streams;
  const ratio = hub.broadcastMs.length ? hub.broadcastMedianMs / trivial.broadcastMedianMs : undefined;
  return [
    [
      `Memory per open stream (${num(hub.streams)} streams, ${num(r.sizes.streamAgents)} agents; RSS growth ÷ streams)`,
      kib(hub.bytesPerStream),
      `trivial SSE server ${kib(trivial.bytesPerStream)}`,
      `≤ ${TARGETS.bytesPerStream / 1024} KiB`,
      met(hub.bytesPerStream === null ? undefined : hub.bytesPerStream <= TARGETS.bytesPerStream),
    ],
    [
      `Broadcast to every stream, time to the last delivery (median of ${hub.broadcastMs.length})`,
      `${ms(hub.broadcastMedianMs)} (${ratio?.toFixed(2)}× trivial)`,
      `trivial SSE server ${ms(trivial.broadcastMedianMs)}`,
      `≤ ${TARGETS.broadcastOverTrivial}× trivial`,
      met(ratio === undefined ? undefined : ratio <= TARGETS.broadcastOverTrivial),
    ],
  ];
}

function emailRows(r: BenchResults): Row[] {
  const e = r.email;
  if (!e) return [];
  return [
    [
      `Email path: task → mail → emailed reply → completed (p50 / p99 over ${num(e.count)} sequential)`,
      `${ms(e.p50Ms)} / ${ms(e.p99Ms)}`,
      `one SMTP hop (nodemailer → bare smtp-server, new connection) ${ms(e.smtpHop.p50Ms)} / ${ms(e.smtpHop.p99Ms)}`,
      '–',
      '',
    ],
  ];
}

function webhookRows(r: BenchResults): Row[] {
  const w = r.webhooks;
  if (!w) return [];
  const over = w.latency.p50Ms - w.barePost.p50Ms;
  return [
    [
      `Webhook: task created → POST received (p50 / p99 over ${num(w.latency.count)} sequential)`,
      `${ms(w.latency.p50Ms)} / ${ms(w.latency.p99Ms)} (p50 ${ms(over)} over the bare POST; includes the API call that creates the task)`,
      `bare POST, keep-alive, same receiver ${ms(w.barePost.p50Ms)} / ${ms(w.barePost.p99Ms)}`,
      `p50 ≤ bare POST + ${TARGETS.webhookP50OverBareMs} ms`,
      met(over <= TARGETS.webhookP50OverBareMs),
    ],
    [
      `Webhook deliveries to one receiver (${num(r.sizes.creators)} creators, ${r.sizes.durationMs / 1000} s)`,
      `${num(w.deliveriesPerS)} deliveries/s while tasks are created (bounded by creation); ${num(w.delivered)}/${num(w.created)} delivered, ${num(w.duplicates)} twice, ${num(w.missing)} missing`,
      '–',
      '–',
      w.missing === 0 ? 'every one delivered' : '**no**',
    ],
    [
      `Webhook backlog of ${num(w.drain.backlog)} drained to one receiver (the sender alone)`,
      `${num(w.drain.deliveriesPerS)} deliveries/s; ${num(w.drain.missing)} missing`,
      '–',
      `≥ ${num(TARGETS.webhookDeliveriesPerS)}/s`,
      met(w.drain.deliveriesPerS >= TARGETS.webhookDeliveriesPerS && w.drain.missing === 0),
    ],
  ];
}

const delivery = (a: AssignThroughput) =>
  `${num(a.delivered)}/${num(a.created)} delivered, ${a.duplicates} twice, ${a.missing} missing`;

/** The PostgreSQL part; each row's baseline is its SQLite counterpart of the same run (or the single hub). */
function postgresRows(r: BenchResults): Row[] {
  const p = r.postgres;
  if (!p) return [];
  if (p.skipped) return [['PostgreSQL (single hub and two hubs)', `skipped: ${p.skipped}`, '–', '–', '']];
  const target = TARGETS.postgres;
  const seconds = r.sizes.durationMs / 1000;
  const sqlite = (figure: string | undefined) => (figure ? `SQLite: ${figure}` : '–');
  const out: Row[] = [];
  if (p.rpcRoundtrip) {
    const rt = r.rpcRoundtrip;
    out.push([
      `PostgreSQL ${p.serverVersion ?? ''}, one hub: RPC round trip p50 / p99 (${num(p.rpcRoundtrip.count)} sequential)`,
      `${ms(p.rpcRoundtrip.p50Ms)} / ${ms(p.rpcRoundtrip.p99Ms)}`,
      sqlite(rt && `${ms(rt.p50Ms)} / ${ms(rt.p99Ms)}`),
      '–',
      '',
    ]);
  }
  const t = p.rpcThroughput;
  if (t) {
    // The SQLite run of the same shape: one client, `rpcAgents` agents.
    const base = r.rpcThroughputAgents;
    out.push([
      `PostgreSQL, one hub: RPC throughput (${r.sizes.rpcCallers} callers, ${t.agents} agents, ${seconds} s)`,
      `${num(t.callsPerS)} calls/s, p50 ${ms(t.p50Ms)}, p99 ${ms(t.p99Ms)}${t.errors ? `, ${t.errors} errors` : ''}; ${cpu(t.cpu)}`,
      sqlite(base && `${num(base.callsPerS)} calls/s, p99 ${ms(base.p99Ms)}`),
      `≥ ${num(target.rpcPerS)} calls/s`,
      met(t.callsPerS >= target.rpcPerS && t.errors === 0),
    ]);
  }
  const a = p.assign;
  if (a) {
    const base = r.assign;
    const once = a.missing === 0 && a.duplicates === 0 && a.errors === 0;
    out.push([
      `PostgreSQL, one hub: assignment (${r.sizes.creators} creators, ${r.sizes.listeners} listening agents, ${seconds} s)`,
      `${num(a.tasksPerS)} tasks/s, push p50 ${ms(a.push.p50Ms)}, p99 ${ms(a.push.p99Ms)}; ${delivery(a)}; ${cpu(a.cpu)}`,
      sqlite(base && `${num(base.tasksPerS)} tasks/s, push p99 ${ms(base.push.p99Ms)}`),
      `≥ ${num(target.tasksPerS)} tasks/s, p99 ≤ ${target.pushP99Ms} ms, exactly once`,
      met(a.tasksPerS >= target.tasksPerS && a.push.p99Ms <= target.pushP99Ms && once),
    ]);
  }
  const x = p.crossHubRoundtrip;
  if (x) {
    out.push([
      `PostgreSQL, two hubs: RPC round trip with the caller on one hub and the agent on the other, p50 / p99 (${num(x.count)} sequential)`,
      `${ms(x.p50Ms)} / ${ms(x.p99Ms)}`,
      p.rpcRoundtrip ? `one hub: ${ms(p.rpcRoundtrip.p50Ms)} / ${ms(p.rpcRoundtrip.p99Ms)}` : '–',
      `p50 ≤ ${target.crossHubP50Ms} ms`,
      met(x.p50Ms <= target.crossHubP50Ms),
    ]);
  }
  return out;
}

const rows = (r: BenchResults): Row[] => [
  ...roundtripRows(r),
  ...throughputRows(r),
  ...bullmqRows(r),
  ...streamRows(r),
  ...emailRows(r),
  ...webhookRows(r),
  ...postgresRows(r),
];

/** The markdown table with the machine it ran on. */
export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const lines = [
    `Measured ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC in ${r.seconds} s on ${m.cpu}, ${m.cores} cores, ` +
      `${m.memoryGiB} GiB, Node ${m.node} (${m.platform}); load average ${m.loadAverage} at the start (shared machine).`,
    `Hub started as \`npm start\` does (\`node dist/main.js\`) with ` +
      `${Object.entries(r.hubEnv).map(([k, v]) => `\`${k}=${v}\``).join(', ')} (rate limits off for the throughput runs); ` +
      'every load generator in a process of its own, loopback only. Baselines were measured in the same run: ' +
      'the floor is a trivial `node:http` echo server through the same client, sequential keep-alive round trips (p50 / p99).',
    ...(bullmqNote(r) ? [bullmqNote(r)!] : []),
    '',
    '| measurement | taskhub | baseline (same run) | target | met |',
    '|---|---|---|---|---|',
    ...rows(r).map((row) => `| ${row.join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

export function writeResults(dir: string, results: BenchResults): { json: string; md: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'results.json');
  const md = path.join(dir, 'results.md');
  fs.writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(md, renderMarkdown(results));
  return { json, md };
}
