/**
 * Runs every measurement in order, each against a fresh hub (or baseline server) in a child process and with
 * its load generator in a child process of its own, and gathers the figures. The hub runs with
 * `TASKHUB_RATE_LIMIT=0` and `TASKHUB_BROADCAST_LIMIT=0` so that the limits do not cap the throughput runs.
 */
import type { Latency } from './stats.js';
import { describeMachine, type Machine } from './machine.js';
import { freePort, runLoad, startHub, startServer, type Child } from './processes.js';
import type { AssignThroughput } from './load/assign.js';
import type { RpcThroughput } from './load/throughput.js';
import type { StreamsResult } from './load/streams.js';
import type { EmailResult } from './load/email.js';
import type { WebhookResult } from './load/webhooks.js';
import type { FloorThroughput } from './load/roundtrip.js';
import type { BenchSizes } from './sizes.js';
import { measureBullmq, type BullmqResults } from './bullmq.js';
import { measurePostgres, type PostgresResults } from './postgres.js';

export const SCENARIOS = ['roundtrip', 'rpcThroughput', 'assign', 'streams', 'email', 'webhooks', 'bullmq', 'postgres'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  sizes: BenchSizes;
  /** Measurements to run (default: all, `postgres` only when `postgres` is set). */
  only?: readonly Scenario[];
  /**
   * Run the PostgreSQL part (when `only` does not say): `true` on a throwaway cluster of its own (skipped with a
   * notice when PostgreSQL is not installed), or `{ url }` of a server's maintenance database to create the
   * bench's databases in. Default false: the smoke run stays short.
   */
  postgres?: boolean | { url: string };
  /** Node options for the hub processes, e.g. `['--cpu-prof', '--cpu-prof-dir=/tmp/prof']`. */
  hubNodeArgs?: string[];
  log?: (line: string) => void;
}

export interface BenchResults {
  machine: Machine;
  startedAt: string;
  seconds: number;
  sizes: BenchSizes;
  hubEnv: Record<string, string>;
  floor?: Latency;
  /** The echo server under as many concurrent clients as the RPC run has callers. */
  floorThroughput?: FloorThroughput;
  rpcRoundtrip?: Latency & { p50OverFloor: number };
  /** A2A `SendMessage` round trip, on the same hub right after the rpc one. */
  a2aRoundtrip?: Latency & { p50OverRpc: number };
  /**
   * `rpcCallers` loops in one caller process through one client, as BullMQ's share one queue, and one echo agent,
   * as BullMQ has one worker process: the figures compared with BullMQ's.
   */
  rpcThroughput?: RpcThroughput;
  /** The same loops with `rpcAgents` echo agents: the measurement of 2026-12-06, and PostgreSQL's baseline. */
  rpcThroughputAgents?: RpcThroughput;
  /** `rpcAgents` echo agents, and each loop a caller agent of its own sending a request per call: the one of before. */
  rpcThroughputTokenEach?: RpcThroughput;
  assign?: AssignThroughput;
  streams?: { hub: StreamsResult; trivial: StreamsResult };
  email?: EmailResult;
  webhooks?: WebhookResult;
  /** BullMQ on Redis, the baseline the rpc figures are compared with (issue 17). */
  bullmq?: BullmqResults;
  /** The PostgreSQL part (see postgres.ts): its SQLite counterparts above are its same-run baselines. */
  postgres?: PostgresResults;
}

/**
 * Environment of every hub the bench starts, on top of the port, data dir and SMTP port. The connection cap
 * (default 1,000) is raised above the streams run's 5,000 streams plus its clients, or the hub sheds them.
 */
export const HUB_ENV = { TASKHUB_RATE_LIMIT: '0', TASKHUB_BROADCAST_LIMIT: '0', TASKHUB_MAX_CONNECTIONS: '20000' };

async function withChild<C extends Child, T>(start: () => Promise<C>, use: (child: C) => Promise<T>): Promise<T> {
  const child = await start();
  try {
    return await use(child);
  } finally {
    await child.stop();
  }
}

type Log = (line: string) => void;

export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const log = options.log ?? (() => {});
  const wanted = (name: Scenario) =>
    options.only ? options.only.includes(name) : name !== 'postgres' || Boolean(options.postgres);
  const started = Date.now();
  const results: BenchResults = {
    machine: describeMachine(),
    startedAt: new Date(started).toISOString(),
    seconds: 0,
    sizes: options.sizes,
    hubEnv: { LOG_LEVEL: 'warn', ...HUB_ENV },
  };
  if (wanted('roundtrip')) await measureRoundtrips(options, results, log);
  if (wanted('rpcThroughput') || wanted('assign')) await measureThroughput(options, results, wanted, log);
  if (wanted('bullmq')) results.bullmq = await measureBullmq(options.sizes, log);
  if (wanted('streams')) results.streams = await measureStreams(options, log);
  if (wanted('email')) results.email = await measureEmail(options, log);
  if (wanted('webhooks')) results.webhooks = await measureWebhooks(options, log);
  if (wanted('postgres')) {
    results.postgres = await measurePostgres({
      sizes: options.sizes,
      url: typeof options.postgres === 'object' ? options.postgres.url : undefined,
      hubEnv: HUB_ENV,
      hubNodeArgs: options.hubNodeArgs,
      log,
    });
  }
  results.seconds = Math.round((Date.now() - started) / 1000);
  return results;
}

const hubFor = (options: BenchOptions, env: Record<string, string> = {}) => () =>
  startHub({ ...HUB_ENV, ...env }, options.hubNodeArgs);
const throughputLimit = (s: BenchSizes) => s.warmupMs + s.durationMs + 90_000;

/** The floor (sequential, then concurrent) on the echo server, then the RPC round trip on a hub. */
async function measureRoundtrips(options: BenchOptions, results: BenchResults, log: Log): Promise<void> {
  const s = options.sizes;
  const roundtrip = { calls: s.roundtripCalls, warmup: s.warmupCalls };
  log(`floor: trivial echo server, sequential round trips, then ${s.rpcCallers} concurrent clients`);
  const floor = await withChild(() => startServer('echo-server'), async (c) => {
    const sequential = await runLoad<Latency>({ scenario: 'floor', params: { url: c.url, ...roundtrip } }, 120_000);
    const params = { url: c.url, pid: c.pid, clients: s.rpcCallers, durationMs: s.durationMs / 2, warmupMs: s.warmupMs };
    results.floorThroughput = await runLoad<FloorThroughput>({ scenario: 'floorThroughput', params }, throughputLimit(s));
    return sequential;
  });
  results.floor = floor;
  log('rpc round trip, then A2A SendMessage round trip: one caller, one echo agent, same hub');
  const [rpc, a2a] = await withChild(hubFor(options), async (h) => {
    const params = { url: h.url, adminToken: h.adminToken, ...roundtrip };
    const rpcLatency = await runLoad<Latency>({ scenario: 'rpcRoundtrip', params }, 120_000);
    return [rpcLatency, await runLoad<Latency>({ scenario: 'a2aRoundtrip', params }, 120_000)] as const;
  });
  results.rpcRoundtrip = { ...rpc, p50OverFloor: Math.round((rpc.p50Ms / floor.p50Ms) * 100) / 100 };
  results.a2aRoundtrip = { ...a2a, p50OverRpc: Math.round((a2a.p50Ms / rpc.p50Ms) * 100) / 100 };
}

/** RPC throughput and assignment throughput, each on a fresh hub. */
async function measureThroughput(options: BenchOptions, results: BenchResults, wanted: (n: Scenario) => boolean, log: Log) {
  const s = options.sizes;
  const run = <T>(scenario: string, clients: number, agents: number, extra: object = {}) =>
    withChild(hubFor(options), (h) => {
      const params = { url: h.url, pid: h.pid, adminToken: h.adminToken, clients, agents, durationMs: s.durationMs, warmupMs: s.warmupMs, ...extra };
      return runLoad<T>({ scenario, params }, throughputLimit(s));
    });
  if (wanted('rpcThroughput')) {
    // One echo agent, as BullMQ has one worker process (docs/performance.md, "One agent, as BullMQ has one worker").
    log(`rpc throughput: ${s.rpcCallers} callers in one client, one agent, ${s.durationMs / 1000} s`);
    results.rpcThroughput = await run<RpcThroughput>('rpcThroughput', s.rpcCallers, 1, { callers: 'one client' });
    log(`rpc throughput: ${s.rpcCallers} callers in one client, ${s.rpcAgents} agents`);
    results.rpcThroughputAgents = await run<RpcThroughput>('rpcThroughput', s.rpcCallers, s.rpcAgents, { callers: 'one client' });
    log(`rpc throughput: ${s.rpcCallers} callers with a token each, a request per call, ${s.rpcAgents} agents`);
    results.rpcThroughputTokenEach = await run<RpcThroughput>('rpcThroughput', s.rpcCallers, s.rpcAgents, { callers: 'a token each' });
  }
  if (wanted('assign')) {
    log(`assignment: ${s.creators} creators, ${s.listeners} listening agents, ${s.durationMs / 1000} s`);
    results.assign = await run<AssignThroughput>('assignThroughput', s.creators, s.listeners);
  }
}

/** Memory per stream and one broadcast to every stream: the trivial SSE server, then the hub. */
async function measureStreams(options: BenchOptions, log: Log) {
  const s = options.sizes;
  const params = { agents: s.streamAgents, streamsPerAgent: s.streamsPerAgent, broadcasts: s.broadcasts };
  log(`streams: ${s.streamAgents * s.streamsPerAgent} streams from ${s.streamAgents} agents, trivial SSE server`);
  const trivial = await withChild(() => startServer('trivial-sse'), (c) =>
    runLoad<StreamsResult>({ scenario: 'streams', params: { ...params, url: c.url, pid: c.pid, mode: 'trivial' } }, 180_000),
  );
  log('streams: taskhub');
  const hub = await withChild(hubFor(options), (h) =>
    runLoad<StreamsResult>(
      { scenario: 'streams', params: { ...params, url: h.url, pid: h.pid, mode: 'hub', adminToken: h.adminToken } },
      180_000,
    ),
  );
  return { hub, trivial };
}

/** The email path, sequential, on a hub that mails to this run's agent mail server. */
async function measureEmail(options: BenchOptions, log: Log): Promise<EmailResult> {
  const tasks = options.sizes.emailTasks;
  log(`email: ${tasks} tasks to an offline agent, answered by mail`);
  const mailPort = await freePort();
  return withChild(hubFor(options, { TASKHUB_SMTP_URL: `smtp://127.0.0.1:${mailPort}` }), (h) =>
    runLoad<EmailResult>(
      { scenario: 'email', params: { url: h.url, adminToken: h.adminToken, tasks, mailPort, hubSmtpPort: h.smtpPort } },
      tasks * 30_000 + 60_000,
    ),
  );
}

/** Webhooks to a receiver in the load generator: latency beside a bare POST, then deliveries/s. */
async function measureWebhooks(options: BenchOptions, log: Log): Promise<WebhookResult> {
  const s = options.sizes;
  log(`webhooks: ${s.roundtripCalls} sequential tasks → webhook, then ${s.creators} creators for ${s.durationMs / 1000} s`);
  // The receiver is on loopback: private addresses must be allowed.
  return withChild(hubFor(options, { TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true' }), (h) =>
    runLoad<WebhookResult>(
      {
        scenario: 'webhooks',
        params: {
          url: h.url, adminToken: h.adminToken, calls: s.roundtripCalls, warmup: s.warmupCalls,
          clients: s.creators, durationMs: s.durationMs, warmupMs: s.warmupMs,
        },
      },
      throughputLimit(s) + 120_000,
    ),
  );
}
