import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The `taskhub` binary as package.json declares it. */
export const BIN = path.join(ROOT, (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: { taskhub: string } }).bin.taskhub);
const STAMP = path.join(ROOT, 'dist', '.built');
const LOCK = path.join(ROOT, '.build.lock');
/** What the build reads: a change to any of these makes dist/ stale. */
const INPUTS = [
  'src',
  'packages/sdk/src',
  'packages/sdk/package.json',
  'packages/sdk/tsconfig.json',
  'scripts/build.mjs',
  'scripts/build-sdk.mjs',
  'package.json',
  'tsconfig.json',
];

function newestInput(): number {
  let newest = 0;
  for (const input of INPUTS) {
    const full = path.join(ROOT, input);
    const files = fs.statSync(full).isDirectory()
      ? fs.readdirSync(full, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))
      : [full];
    for (const file of files) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

const isFresh = () => fs.existsSync(STAMP) && fs.statSync(STAMP).mtimeMs >= newestInput();

/**
 * Builds dist/ (with the SDK's dist/ and the dashboard's public/js/) with `npm run build`'s script unless it is
 * newer than every source, so that tests run the real
 * binary without ever running a stale one. A lock directory keeps test files running in parallel from building
 * over each other.
 */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (!isFresh()) {
    try {
      fs.mkdirSync(LOCK);
    } catch {
      if (Date.now() > deadline) throw new Error(`waited too long for ${LOCK}; remove it if no build is running`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    try {
      if (isFresh()) return;
      const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
    } finally {
      fs.rmSync(LOCK, { recursive: true, force: true });
    }
  }
}

/** The environment of a spawned CLI: this one without TASKHUB_* settings, plus `env`. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKHUB_')));
  return { ...base, ...env };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the binary to completion. */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(env), cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Starts the binary for a command that keeps running (`worker`, `tail`, `serve`). */
export function startCli(args: string[], env: Record<string, string> = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [BIN, ...args], { env: cliEnv(env), cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    /** Sends `signal` and resolves with the exit code. */
    async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export type RunningCli = ReturnType<typeof startCli>;
