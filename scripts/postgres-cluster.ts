import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL cluster for one test run: `initdb` in a temp dir, `postgres` on a free loopback port with
 * its unix socket in that dir, trust auth for loopback only, `fsync` and `synchronous_commit` on (the costs the
 * tests and benchmarks see are the real ones). `initdb` and `postgres` refuse to run as root, so as root both run as
 * the `postgres` user, which then owns the temp dir.
 */
export interface PostgresCluster {
  /** `postgres://taskhub@127.0.0.1:<port>/postgres`: the maintenance database, for CREATE/DROP DATABASE. */
  url: string;
  port: number;
  /** Stops the server (fast shutdown) and removes the temp dir; safe to call twice. */
  stop(): Promise<void>;
  /** Stops the server (fast shutdown) but keeps its data, as an operator's `pg_ctl stop -m fast` would. */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port and data; resolves once it accepts connections. */
  resume(): Promise<void>;
}

/** The role every test connects as (a superuser of the throwaway cluster). */
export const CLUSTER_USER = 'taskhub';
/** How long `postgres` may take to accept connections after start, ms. */
const START_TIMEOUT_MS = 30_000;
/** How long a fast shutdown may take before the server is killed, ms. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * The directory holding `initdb` and `postgres`: `TASKHUB_PG_BINDIR`, else `pg_config --bindir` when that has them,
 * else the newest `/usr/lib/postgresql/<major>/bin` (Debian installs them there, off PATH). `undefined` when none.
 */
export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates: string[] = [];
  if (env.TASKHUB_PG_BINDIR) candidates.push(env.TASKHUB_PG_BINDIR);
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // No pg_config on PATH: fall back to Debian's layout.
  }
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const majors = fs.readdirSync(debian).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...majors.map((m) => path.join(debian, m, 'bin')));
  }
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres')));
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;
/**
 * The command line that runs `bin` as the user allowed to: itself, or `postgres` when we are root. setpriv execs
 * the binary in place (runuser and su stay as a parent), so the child we signal is `postgres` itself.
 */
const asOwner = (bin: string, args: string[]): [string, string[]] =>
  isRoot() ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', bin, ...args]] : [bin, args];

// Accepting TCP is not enough: during recovery the server answers "the database system is starting up".
const canConnect = async (port: number) => {
  const client = new pg.Client({ host: '127.0.0.1', port, user: CLUSTER_USER, database: 'postgres' });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
};

async function waitUntilAccepting(child: ChildProcess, port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}:\n${log()}`);
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`postgres did not accept connections within ${START_TIMEOUT_MS} ms:\n${log()}`);
}

function initCluster(binDir: string, dir: string): string {
  const data = path.join(dir, 'data');
  if (isRoot()) execFileSync('chown', ['postgres:', dir]);
  // --no-sync only skips syncing the files initdb itself writes (they are thrown away with the run); the server
  // below runs with fsync on.
  const [cmd, args] = asOwner(path.join(binDir, 'initdb'), [
    '-D', data, '-U', CLUSTER_USER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync',
  ]);
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return data;
}

/** Starts one cluster on a free port (retrying once if another process took the port meanwhile). */
export async function startPostgresCluster(binDir: string): Promise<PostgresCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-pg-'));
  try {
    const data = initCluster(binDir, dir);
    for (let attempt = 1; ; attempt++) {
      try {
        return await runServer(binDir, dir, data);
      } catch (error) {
        if (attempt >= 2) throw error;
      }
    }
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

interface ServerProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Runs `postgres` on `port` over `data` until it accepts connections; kills it again if it never does. */
async function spawnServer(binDir: string, dir: string, data: string, port: number): Promise<ServerProcess> {
  const [cmd, args] = asOwner(path.join(binDir, 'postgres'), [
    '-D', data, '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=on', '-c', 'synchronous_commit=on',
    // Each test file opens a pool or two, several files run at once, and the bench runs several hubs.
    '-c', 'max_connections=300', '-c', 'shared_buffers=128MB',
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntilAccepting(child, port, () => log);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return { child, exited };
}

/** Fast shutdown (SIGINT: open sessions are ended, nothing waits for them), SIGKILL after `STOP_TIMEOUT_MS`. */
async function shutDown(server: ServerProcess): Promise<void> {
  if (server.child.exitCode === null) server.child.kill('SIGINT');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await server.exited;
  clearTimeout(timer);
}

async function runServer(binDir: string, dir: string, data: string): Promise<PostgresCluster> {
  const port = await freePort();
  let server = await spawnServer(binDir, dir, data, port);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await shutDown(server);
      fs.rmSync(dir, { recursive: true, force: true });
    })());
  return {
    url: `postgres://${CLUSTER_USER}@127.0.0.1:${port}/postgres`,
    port,
    stop,
    halt: () => shutDown(server),
    async resume() {
      if (stopped) throw new Error('the cluster was stopped for good');
      if (server.child.exitCode === null && server.child.signalCode === null) return;
      server = await spawnServer(binDir, dir, data, port);
    },
  };
}
