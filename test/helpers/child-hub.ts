import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { ensureBuilt } from './cli.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const running = new Set<ChildHub>();

export interface ChildHub {
  url: string;
  dataDir: string;
  proc: ChildProcess;
  /** Every pino line the child wrote to stdout, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code and signal once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The admin token the first hub on this data dir wrote. */
  adminToken(): string;
  /** Sends a signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `src/main.ts` as its own process (through tsx, or through `npm start`, which runs the compiled
 * `dist/main.js`, built first when stale) on port 0 and the given data dir,
 * and learns its URL from the `taskhub listening on …` log line. Rejects if the child exits or stays silent for `startMs`.
 */
export async function startChildHub(
  dataDir: string,
  env: Record<string, string> = {},
  startMs = 15_000,
  options: { viaNpmStart?: boolean } = {},
): Promise<ChildHub> {
  // With `viaNpmStart` the child is `npm start` itself, so that signals go through npm as an operator's would.
  if (options.viaNpmStart) await ensureBuilt();
  const [command, args] = options.viaNpmStart
    ? ['npm', ['start', '--silent']]
    : [process.execPath, ['--import', 'tsx', 'src/main.ts']];
  const proc = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', TASKHUB_DATA_DIR: dataDir, TASKHUB_SMTP_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const giveUp = setTimeout(() => fail(new Error(`child hub did not start in ${startMs} ms`)), startMs);
    const fail = (error: Error) => {
      clearTimeout(giveUp);
      proc.kill('SIGKILL');
      reject(new Error(`${error.message}\nstderr: ${stderr}`));
    };
    const onEarlyExit = (code: number | null) => fail(new Error(`child hub exited with ${code} before listening`));
    proc.once('exit', onEarlyExit);
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      const match = /^taskhub listening on (\S+)$/.exec(String(entry.msg));
      if (!match) return;
      clearTimeout(giveUp);
      proc.off('exit', onEarlyExit);
      proc.once('exit', () => running.delete(child));
      const child: ChildHub = {
        url: match[1]!,
        dataDir,
        proc,
        logs,
        exited,
        adminToken: () => fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim(),
        async kill(signal = 'SIGTERM') {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
          return exited;
        },
      };
      running.add(child);
      resolve(child);
    });
  });
}

/** Kills child hubs a test left running (SIGKILL); returns how many there were. */
export async function killChildHubs(): Promise<number> {
  const left = [...running];
  await Promise.all(left.map((child) => child.kill('SIGKILL')));
  return left.length;
}
