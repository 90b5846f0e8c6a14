import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';

/** The hub's own logger factory writing JSON lines into memory, to assert what a run logged. */
export function memoryLogger(level = 'debug') {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ logLevel: level, logFormat: 'json' }, out);
  const entries = () => lines.map((l) => JSON.parse(l) as Record<string, any>);
  return {
    logger,
    lines,
    entries,
    /** Entries whose message matches. */
    withMessage: (msg: string | RegExp) => entries().filter((e) => String(e.msg).match(msg)),
  };
}
