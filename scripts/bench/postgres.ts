/**
 * The PostgreSQL part of the bench: the single-hub measurements again on a hub whose store is PostgreSQL, then the
 * RPC round trip across two hubs on one database (caller on one, agent on the other). It runs on a throwaway
 * cluster of its own (fsync and synchronous_commit on, as the tests run it) unless given a server to use.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { findPostgresBinDir, startPostgresCluster } from '../postgres-cluster.js';
import type { AssignThroughput } from './load/assign.js';
import type { RpcThroughput } from './load/throughput.js';
import { runLoad, startHub, type HubChild } from './processes.js';
import type { BenchSizes } from './sizes.js';
import type { Latency } from './stats.js';

export interface PostgresResults {
  /** Why the part did not run (no PostgreSQL on this machine); the figures below are then absent. */
  skipped?: string;
  /** The server's version, as `SHOW server_version` gives it. */
  serverVersion?: string;
  rpcRoundtrip?: Latency;
  rpcThroughput?: RpcThroughput;
  assign?: AssignThroughput;
  /** Caller on hub A, echo agent streaming from and completing through hub B. */
  crossHubRoundtrip?: Latency;
}

export interface PostgresBenchOptions {
  sizes: BenchSizes;
  /** A maintenance URL (`postgres://…/postgres`) of a server to create the bench's databases in; default: a throwaway cluster. */
  url?: string;
  /** Environment of every hub on top of the PostgreSQL settings. */
  hubEnv: Record<string, string>;
  hubNodeArgs?: string[];
  log: (line: string) => void;
}

/** Every hub on one database must share the secret (config.ts refuses PostgreSQL without it). */
const JWT_SECRET = randomBytes(24).toString('hex');

async function withMaintenance<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database for one measurement; the hubs migrate it at start. */
async function createDatabase(maintenanceUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  await withMaintenance(maintenanceUrl, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE template1`));
  const url = new URL(maintenanceUrl);
  url.pathname = `/${name}`;
  const drop = () => withMaintenance(maintenanceUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {});
  return { url: url.toString(), drop };
}

/** Runs the PostgreSQL measurements; resolves with `skipped` set when there is no PostgreSQL to run them on. */
export async function measurePostgres(options: PostgresBenchOptions): Promise<PostgresResults> {
  let url = options.url;
  let stopCluster: (() => Promise<void>) | undefined;
  if (!url) {
    const binDir = findPostgresBinDir();
    if (!binDir) {
      const skipped = 'no initdb/postgres found (apt-get install -y postgresql, or set TASKHUB_PG_BINDIR)';
      options.log(`PostgreSQL part skipped: ${skipped}`);
      return { skipped };
    }
    const cluster = await startPostgresCluster(binDir);
    url = cluster.url;
    stopCluster = cluster.stop;
  }
  try {
    return await measureOn(url, options);
  } finally {
    await stopCluster?.();
  }
}

async function measureOn(maintenanceUrl: string, options: PostgresBenchOptions): Promise<PostgresResults> {
  const { sizes: s, log } = options;
  const results: PostgresResults = {
    serverVersion: await withMaintenance(maintenanceUrl, async (c) => (await c.query('SHOW server_version')).rows[0].server_version),
  };
  /** `count` hubs on one fresh database, started one after another (the first migrates it), all stopped after `use`. */
  const withHubs = async <T>(count: number, use: (hubs: HubChild[]) => Promise<T>): Promise<T> => {
    const db = await createDatabase(maintenanceUrl);
    const hubs: HubChild[] = [];
    try {
      const env = { ...options.hubEnv, TASKHUB_DATABASE_URL: db.url, TASKHUB_JWT_SECRET: JWT_SECRET };
      for (let i = 0; i < count; i++) hubs.push(await startHub({ ...env, TASKHUB_HUB_ID: `bench-${i}` }, options.hubNodeArgs));
      return await use(hubs);
    } finally {
      for (const hub of hubs.reverse()) await hub.stop();
      await db.drop();
    }
  };
  const roundtrip = { calls: s.roundtripCalls, warmup: s.warmupCalls };
  const throughputLimit = s.warmupMs + s.durationMs + 90_000;
  const throughput = <T>(scenario: string, clients: number, agents: number) =>
    withHubs(1, ([h]) => {
      const params = { url: h!.url, pid: h!.pid, adminToken: h!.adminToken, clients, agents, durationMs: s.durationMs, warmupMs: s.warmupMs };
      return runLoad<T>({ scenario, params }, throughputLimit);
    });

  log('PostgreSQL: rpc round trip, one caller, one echo agent, one hub');
  results.rpcRoundtrip = await withHubs(1, ([h]) =>
    runLoad<Latency>({ scenario: 'rpcRoundtrip', params: { url: h!.url, adminToken: h!.adminToken, ...roundtrip } }, 120_000),
  );
  log(`PostgreSQL: rpc throughput, ${s.rpcCallers} callers, ${s.rpcAgents} agents, ${s.durationMs / 1000} s`);
  results.rpcThroughput = await throughput<RpcThroughput>('rpcThroughput', s.rpcCallers, s.rpcAgents);
  log(`PostgreSQL: assignment, ${s.creators} creators, ${s.listeners} listening agents, ${s.durationMs / 1000} s`);
  results.assign = await throughput<AssignThroughput>('assignThroughput', s.creators, s.listeners);
  log('PostgreSQL: cross-hub rpc round trip, caller on hub A, echo agent on hub B');
  results.crossHubRoundtrip = await withHubs(2, ([a, b]) =>
    runLoad<Latency>(
      { scenario: 'rpcRoundtrip', params: { url: a!.url, agentUrl: b!.url, adminToken: a!.adminToken, ...roundtrip } },
      120_000,
    ),
  );
  return results;
}
