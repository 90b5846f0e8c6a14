import { HttpError } from './errors.js';

/** What an `onError` callback is told besides the error. */
export interface ErrorInfo {
  /** True when the subscription (or worker) has stopped for good and will not retry. */
  fatal: boolean;
  /** For an error that is retried: when the next attempt is made, ms from now. */
  retryInMs?: number;
}

export type ErrorReporter = (error: Error, info: ErrorInfo) => void;

/** A hub refusal that no retry changes: the token (401) or the caller (403) is not accepted. */
export const isRefusal = (error: unknown): error is HttpError =>
  error instanceof HttpError && (error.status === 401 || error.status === 403);

/** The error as one line: the contract's code and status first, when the hub gave them. */
export function describeError(error: Error): string {
  const text = error instanceof HttpError ? `${error.code} (${error.status}): ${error.message}` : error.message;
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * The default `onError` of `subscribe` and `worker`: one line on stderr (through `console.error`, so that it
 * also works outside Node; `writeLine` overrides it) saying what failed and whether it is retried. Silence it
 * with `onError: () => {}`.
 */
export function stderrReporter(who: string, writeLine: (line: string) => void = (line) => console.error(line)): ErrorReporter {
  return (error, info) => {
    const next = info.fatal
      ? 'stopped'
      : info.retryInMs !== undefined
        ? `retrying in ${(info.retryInMs / 1000).toFixed(1)} s`
        : 'carrying on';
    writeLine(`${who}: ${describeError(error)} (${next})`);
  };
}
