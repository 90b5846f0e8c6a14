/**
 * The BullMQ baseline's Redis: `redis-server` started by the bench on a free loopback port with append-only
 * persistence fsynced every second (`--appendonly yes --appendfsync everysec`, no RDB snapshots), the durability
 * closest to SQLite's WAL with synchronous NORMAL. Its data dir is a temp dir removed when it stops.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stopChild } from '../processes.js';

/** The persistence options the bench gives `redis-server` (with `--save ''`: no RDB snapshots), quoted in the report. */
export const REDIS_ARGS = ['--appendonly', 'yes', '--appendfsync', 'everysec'];

export interface RedisChild {
  pid: number;
  port: number;
  /** `redis-server --version`'s first line. */
  version: string;
  stop(): Promise<void>;
}

/** `redis-server` on PATH (or `REDIS_SERVER`), or undefined when it is not installed. */
export function findRedisServer(): string | undefined {
  const command = process.env.REDIS_SERVER ?? 'redis-server';
  const probe = spawnSync(command, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? command : undefined;
}

function redisVersion(command: string): string {
  const out = spawnSync(command, ['--version'], { encoding: 'utf8' }).stdout;
  return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
}

/** Answers once `PING` gets `+PONG` on a fresh connection, which it closes. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** Starts `command` on `port`; resolves once it answers PING, or stops it and its dir and rejects. */
export async function startRedis(command: string, port: number): Promise<RedisChild> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...REDIS_ARGS, '--save', ''];
  const proc = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = async () => {
    await stopChild(proc);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 10_000;
    while (!(await pings(port))) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (Date.now() > deadline) throw new Error('redis-server did not answer PING in 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: proc.pid!, port, version: redisVersion(command), stop };
}
