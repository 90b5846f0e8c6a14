/**
 * The bench's child processes: the hub (started as `npm start` does, `node dist/main.js`, built first when
 * stale), the baseline servers and the load generators. Each is owned by the caller, which stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt } from '../ensure-built.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const BENCH_DIR = import.meta.dirname;

export interface Child {
  proc: ChildProcess;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

export interface HubChild extends Child {
  adminToken: string;
  dataDir: string;
  /** Extra ports the hub was given (the embedded SMTP listener). */
  smtpPort: number;
}

/** A port that was free a moment ago on loopback (the hub logs nothing at `warn`, so it cannot tell us its own). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The status of one request on a connection of its own that closes after it (nothing is left open). */
function statusOf(url: string, init: { method?: string; token?: string; body?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { connection: 'close' };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const req = http.request(url, { method: init.method ?? 'GET', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function spawnNode(args: string[], env: Record<string, string>, ipc = false): ChildProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', ...(ipc ? (['ipc'] as const) : [])],
  });
  return proc;
}

/** Stops a child: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function stopChild(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const cut = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(cut);
}

/** Waits until `GET url/healthz`-style `probe` answers 200, or fails after `ms` or when the child exits. */
async function waitUp(proc: ChildProcess, probe: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${probe}: the process exited with ${proc.exitCode}`);
    try {
      if ((await statusOf(probe)) === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`${probe} did not come up in ${ms} ms`);
}

/**
 * Starts the hub as `npm start` would, on a free port and a temp data dir, with `env` on top of the bench's
 * defaults (LOG_LEVEL=warn, TASKHUB_SMTP_PORT on a free port). `nodeArgs` go before `--import tsx`
 * (e.g. `--cpu-prof`). At `warn` the hub does not log its port, so the bench picks free ports for it; another
 * process may take one before the hub binds it, hence a few attempts.
 */
export function startHub(env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<HubChild> {
  return withAttempts(() => startHubOnce(env, nodeArgs));
}

/** Tries `start` up to three times: a port picked as free can be taken by someone else before the child binds it. */
async function withAttempts<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
  }
}

async function startHubOnce(env: Record<string, string>, nodeArgs: string[]): Promise<HubChild> {
  await ensureBuilt();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-bench-'));
  const port = await freePort();
  const smtpPort = await freePort();
  const proc = spawn(process.execPath, [...nodeArgs, 'dist/main.js'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      TASKHUB_DATA_DIR: dataDir,
      TASKHUB_SMTP_PORT: String(smtpPort),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(proc);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUp(proc, `${url}/healthz`, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const adminToken = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  return { proc, pid: proc.pid!, url, adminToken, dataDir, smtpPort, stop };
}

/** Starts one of the baseline servers in `servers/` on a free port. */
export function startServer(name: 'echo-server' | 'trivial-sse'): Promise<Child> {
  return withAttempts(() => startServerOnce(name));
}

async function startServerOnce(name: 'echo-server' | 'trivial-sse'): Promise<Child> {
  const port = await freePort();
  const proc = spawnNode([path.join(BENCH_DIR, 'servers', `${name}.ts`)], { PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(proc);
  try {
    await waitUp(proc, `${url}/healthz`, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { proc, pid: proc.pid!, url, stop };
}

/**
 * Runs one load-generator job in a process of its own (`load/main.ts`) and resolves with what it reports.
 * Killed after `limitMs`, so a stuck run cannot hang the bench.
 */
export function runLoad<T>(job: { scenario: string; params: object }, limitMs: number): Promise<T> {
  const proc = spawnNode([path.join(BENCH_DIR, 'load', 'main.ts'), JSON.stringify(job)], {}, true);
  return new Promise<T>((resolve, reject) => {
    let result: { ok: true; value: T } | { ok: false; error: string } | undefined;
    const cut = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`load job ${job.scenario} ran past ${limitMs} ms`));
    }, limitMs);
    proc.on('message', (message) => (result = message as typeof result));
    proc.once('exit', (code) => {
      clearTimeout(cut);
      if (result?.ok) resolve(result.value);
      else reject(new Error(`load job ${job.scenario} failed (exit ${code}): ${result?.ok === false ? result.error : 'no report'}`));
    });
  });
}

/** The resident set of a process in bytes, from `/proc/<pid>/status` (Linux); undefined elsewhere. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms, from `/proc/<pid>/stat` (Linux); undefined elsewhere. */
export function cpuMs(pid: number): number | undefined {
  try {
    return statCpuMs(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** CPU time each thread of a process has used so far, in ms, keyed by `<tid> <name>` (Linux). */
export function threadCpuMs(pid: number): Map<string, number> {
  const threads = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    threads.set(`${tid} ${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`, statCpuMs(stat));
  }
  return threads;
}

function statCpuMs(stat: string): number {
  // Fields after the command name (which may hold spaces) start after the last ')'; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** USER_HZ: 100 on every Linux Node supports. */
const CLOCK_TICKS = 100;
