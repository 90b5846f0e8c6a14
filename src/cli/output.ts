import { CommanderError } from 'commander';
import { ConnectionError, HttpError, RpcTimeoutError, TaskFailedError } from '../client/index.js';

/** The exit codes a shell script can rely on; documented in docs/clients.md. */
export const EXIT = {
  ok: 0,
  /** Bad flags or arguments, missing URL or token, unreadable JSON input. */
  usage: 1,
  /** The hub answered with an error status (the message names its code). */
  http: 2,
  /** The task ended failed, cancelled or expired (rpc). */
  taskFailed: 3,
  /** No answer within the rpc timeout. */
  timeout: 4,
  /** The hub could not be reached. */
  unreachable: 5,
} as const;

/** A mistake in how the CLI was called. */
export class UsageError extends Error {}

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
}

/** Writes `value` as JSON with `--json`, else as the human text. */
export function printer(io: Io, json: boolean) {
  return (value: unknown, human: () => string) => {
    io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : ensureNewline(human()));
  };
}

const ensureNewline = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`);

/** A result as a person (or a pipe) wants it: strings raw, anything else as JSON. */
export function formatResult(result: unknown): string {
  return typeof result === 'string' ? result : JSON.stringify(result, null, 2);
}

/** Reports an error on stderr in one line (plus field details) and returns the exit code it stands for. */
export function reportError(io: Io, error: unknown): number {
  const say = (text: string) => io.stderr.write(`taskhub: ${text}\n`);
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof UsageError) {
    say(error.message);
    return EXIT.usage;
  }
  if (error instanceof HttpError) {
    const message = error.details ? error.message.replace(/\b(?:body|query)\.[A-Za-z.]+/g, flagOf) : error.message;
    say(`${error.code} (${error.status}): ${message}`);
    for (const d of error.details ?? []) io.stderr.write(`  ${flagOf(d.path)}: ${d.message}\n`);
    return EXIT.http;
  }
  if (error instanceof TaskFailedError) {
    say(`task ${error.taskId} ${error.status}${error.error ? `: ${error.error}` : ''}`);
    return EXIT.taskFailed;
  }
  if (error instanceof RpcTimeoutError) {
    say(error.message);
    return EXIT.timeout;
  }
  if (error instanceof ConnectionError) {
    say(error.message);
    return EXIT.unreachable;
  }
  say(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return EXIT.usage;
}

/** The CLI's name for each request field the hub may name in an error's `details` (`body.target`). */
const FLAG_BY_FIELD: Record<string, string> = {
  target: '-t/--target',
  capability: '-c/--capability',
  capabilities: '-c/--capability',
  payload: '-p/--payload',
  priority: '--priority',
  deadline: '--deadline',
  idempotencyKey: '--idempotency-key',
  timeout: '--timeout',
  leaseSeconds: '--lease',
  to: '--to',
  subject: '-s/--subject',
  body: 'the message body',
  inReplyTo: '--in-reply-to',
  email: '--email',
  description: '--description',
  name: 'the agent name',
  limit: '--limit',
  cursor: '--cursor',
  status: '--status',
  role: '--role',
  lastEventId: '--from',
  url: 'the webhook url',
  events: '--events',
};

/** `body.target` → `-t/--target`: errors name what the person typed, not the HTTP field. */
export function flagOf(path: string): string {
  const field = path.replace(/^(body|query|params)\.?/, '').split('.')[0] ?? '';
  return FLAG_BY_FIELD[field] ?? path;
}

/** Parses a JSON argument; `-` reads it from stdin. */
export async function readJson(io: Io, raw: string | undefined, flag: string): Promise<unknown> {
  if (raw === undefined) return undefined;
  const text = raw === '-' ? await readAll(io.stdin) : raw;
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${flag} must be JSON (got ${JSON.stringify(text.slice(0, 80))}); quote strings: '"text"'.`);
  }
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** A plain table: one row per line, columns padded to their widest cell. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
