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

/**
 * A handler that runs `command` once per task: one argument runs through `/bin/sh -c` (pipes and all), several
 * run as an argv without a shell. The payload is written to stdin as JSON; the task is described in
 * TASKHUB_TASK_ID, TASKHUB_TASK, TASKHUB_CAPABILITY, TASKHUB_ASSIGNER and TASKHUB_PRIORITY. Exit 0 completes
 * the task with the parsed stdout; anything else fails it with the exit status and the tail of stderr. A
 * cancelled task (or a stopping worker) sends SIGTERM to the command's process group, then SIGKILL.
 */
export function shellHandler(command: string[], options: ShellOptions): TaskHandler {
  const [file, ...args] = command.length === 1 ? ['/bin/sh', '-c', command[0]!] : command;
  return (payload, ctx) =>
    new Promise((resolve, reject) => {
      const { task } = ctx;
      const child = spawn(file!, args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        // Its own process group, so that stopping it also stops what it started (the `sleep` under `sh -c`),
        // which would otherwise hold its pipes open.
        detached: true,
        env: {
          ...options.env,
          TASKHUB_TASK_ID: task.id,
          TASKHUB_TASK: task.task,
          TASKHUB_CAPABILITY: task.capability ?? '',
          TASKHUB_ASSIGNER: task.assigner,
          TASKHUB_PRIORITY: task.priority,
        },
      });
      let stdout = '';
      let stderr = '';
      let failure: Error | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const signalGroup = (signal: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, signal);
        } catch {
          // Already gone.
        }
      };
      const stop = (reason: Error) => {
        failure ??= reason;
        signalGroup('SIGTERM');
        killTimer ??= setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
      };
      const onAbort = () => stop(ctx.signal.reason as Error);
      const limit = options.timeoutMs
        ? setTimeout(() => stop(new Error(`command timed out after ${options.timeoutMs! / 1000} s`)), options.timeoutMs)
        : undefined;
      ctx.signal.addEventListener('abort', onAbort, { once: true });

      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (Buffer.byteLength(stdout) > MAX_OUTPUT_BYTES) stop(new Error(`command output is over ${MAX_OUTPUT_BYTES} bytes`));
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
        options.onStderr?.(chunk);
      });
      // A command that does not read its stdin closes the pipe early; that is its business.
      child.stdin.on('error', () => undefined);
      child.stdin.end(JSON.stringify(payload ?? null));

      child.on('error', (error) => (failure ??= new Error(`cannot run ${file}: ${error.message}`)));
      child.on('close', (code, signal) => {
        clearTimeout(limit);
        clearTimeout(killTimer);
        ctx.signal.removeEventListener('abort', onAbort);
        if (failure) return reject(failure);
        if (code === 0) return resolve(parseOutput(stdout));
        const how = code !== null ? `exit code ${code}` : `signal ${signal}`;
        reject(new Error(`command failed (${how})${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
      });
    });
}
