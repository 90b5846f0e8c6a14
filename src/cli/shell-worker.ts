import { spawn } from 'node:child_process';
import type { TaskHandler } from '../client/index.js';

export interface ShellOptions {
  /** Kills a command still running after this long, ms. Default: no limit. */
  timeoutMs?: number;
  /** Environment the command inherits (plus the task's variables). */
  env: Record<string, string | undefined>;
  /** Receives the command's stderr as it comes, for the operator's log. Default: kept only for the error. */
  onStderr?: (chunk: string) => void;
}

/** Most bytes of stdout taken as a result: the hub takes bodies up to 1 MiB. */
export const MAX_OUTPUT_BYTES = 1_000_000;
/** Characters of stderr quoted in the error of a failed command. */
export const STDERR_TAIL_CHARS = 2000;
/** Grace between SIGTERM and SIGKILL for a command being stopped, ms. */
const KILL_GRACE_MS = 5000;

/** stdout as a result: JSON when it parses, else the text without its final newline; nothing is `null`. */
export function parseOutput(stdout: string): unknown {
  const trimmed = stdout.trim();
  if (trimmed === '') return null;
  try {
    return JSON.parse(trimmed);
  } catch {
    return stdout.replace(/\r?\n$/, '');
  }
}

interface RunOptions {
  env: Record<string, string | undefined>;
  input: string;
  signal: AbortSignal;
  timeoutMs: number | undefined;
  onStderr: ((chunk: string) => void) | undefined;
}

/**
 * Stops a command started in its own process group: SIGTERM to the group (so that what it started stops too),
 * SIGKILL after a grace period. The first reason given is the one the run fails with.
 */
function groupStopper(pid: number | undefined) {
  let reason: Error | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (pid !== undefined) process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  };
  return {
    reason: () => reason,
    stop(why: Error) {
      reason ??= why;
      signalGroup('SIGTERM');
      killTimer ??= setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
    },
    clear: () => clearTimeout(killTimer),
  };
}

/** Runs a command to its end: resolves with its stdout on exit 0, rejects with why it did not succeed. */
function runCommand(file: string, args: string[], options: RunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that stopping it also stops what it started (the `sleep` under `sh -c`), which
    // would otherwise hold its pipes open.
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: options.env });
    const stopper = groupStopper(child.pid);
    let stdout = '';
    let stdoutBytes = 0;
    let stderr = '';
    const onAbort = () => stopper.stop(options.signal.reason as Error);
    options.signal.addEventListener('abort', onAbort, { once: true });
    const limit = options.timeoutMs
      ? setTimeout(() => stopper.stop(new Error(`command timed out after ${options.timeoutMs! / 1000} s`)), options.timeoutMs)
      : undefined;

    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdoutBytes += Buffer.byteLength(chunk);
      if (stdoutBytes > MAX_OUTPUT_BYTES) return stopper.stop(new Error(`command output is over ${MAX_OUTPUT_BYTES} bytes`));
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
      options.onStderr?.(chunk);
    });
    // A command that does not read its stdin closes the pipe early; that is its business.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input);

    child.on('error', (error) => stopper.stop(new Error(`cannot run ${file}: ${error.message}`)));
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      stopper.clear();
      options.signal.removeEventListener('abort', onAbort);
      const failure = stopper.reason();
      if (failure) return reject(failure);
      if (code === 0) return resolve(stdout);
      const how = code !== null ? `exit code ${code}` : `signal ${signal}`;
      reject(new Error(`command failed (${how})${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
  });
}

/**
 * A handler that runs `command` once per task: one argument runs through `/bin/sh -c` (pipes and all), several
 * run as an argv without a shell. The payload is written to stdin as JSON; the task is described in
 * TASKHUB_TASK_ID, TASKHUB_TASK, TASKHUB_CAPABILITY, TASKHUB_ASSIGNER and TASKHUB_PRIORITY. Exit 0 completes
 * the task with the parsed stdout; anything else fails it with the exit status and the tail of stderr. A
 * cancelled task (or a stopping worker) sends SIGTERM to the command's process group, then SIGKILL.
 */
export function shellHandler(command: string[], options: ShellOptions): TaskHandler {
  const [file, ...args] = command.length === 1 ? ['/bin/sh', '-c', command[0]!] : command;
  return async (payload, { task, signal }) => {
    const env = {
      ...options.env,
      TASKHUB_TASK_ID: task.id,
      TASKHUB_TASK: task.task,
      TASKHUB_CAPABILITY: task.capability ?? '',
      TASKHUB_ASSIGNER: task.assigner,
      TASKHUB_PRIORITY: task.priority,
    };
    const input = JSON.stringify(payload ?? null);
    return parseOutput(await runCommand(file!, args, { env, input, signal, timeoutMs: options.timeoutMs, onStderr: options.onStderr }));
  };
}
