import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';

/**
 * Log fields that may hold a secret, removed wherever they appear: a leak through a new log call is then a
 * missing field, not a token in the log.
 */
const REDACT = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'secret',
  '*.secret',
  'signature',
  '*.signature',
  'replyTo',
  '*.replyTo',
];

/** Whether log lines are JSON (for a collector) or pretty text (for a person at a terminal). */
export function resolveLogFormat(format: Config['logFormat'], isTty: boolean): 'json' | 'pretty' {
  return format === 'auto' ? (isTty ? 'pretty' : 'json') : format;
}

/**
 * The hub's logger. `pretty` writes one human-readable line per entry with its ISO time (pino-pretty, colours
 * only on a terminal); `json` writes pino's JSON lines, with ISO times too. Both are synchronous streams: a line
 * written just before exit is not lost.
 * @param out Where lines go. Default: stdout.
 */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'logFormat'>,
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): Logger {
  const options = {
    level: config.logLevel,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, remove: true },
    base: { pid: process.pid },
  };
  if (resolveLogFormat(config.logFormat, out.isTTY === true) === 'json') {
    return pino(options, out as DestinationStream);
  }
  const stream = pretty({
    destination: out,
    sync: true,
    colorize: out.isTTY === true,
    translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'",
    ignore: 'pid,hostname',
    singleLine: true,
  });
  return pino(options, stream);
}
