import { EventSource } from 'eventsource';
import { ConnectionError, HttpError } from './errors.js';
import { toHttpError, type FetchLike } from './http.js';
import { stderrReporter, type ErrorInfo } from './report.js';
import type { HubEvent } from './types.js';

/** Every named event the hub sends on a stream besides `ready`. */
const EVENT_TYPES = [
  'reset',
  'message',
  'task.assigned',
  'task.claimed',
  'task.progress',
  'task.completed',
  'task.failed',
  'task.cancelled',
  'task.expired',
] as const;

export interface OpenInfo {
  /** The agent (or admin name) the stream belongs to. */
  agent: string;
  /** The id the stream starts after. */
  lastEventId: number;
  /** False on the first open, true after every reconnect. */
  reconnected: boolean;
}

export interface SubscribeOptions {
  /** Resume after this event id (one saved by an earlier run, say). Default: start with the next live event. */
  lastEventId?: number;
  /** Called each time a stream opens: first, and after every reconnect. */
  onOpen?: (info: OpenInfo) => void;
  /**
   * Called on every stream error and on a handler that threw. `fatal` means the subscription has stopped: the
   * hub refused the token (401), the caller (403), or the route (4xx other than 429); `ready` then rejects if it
   * had not resolved. Other errors (the hub down, a dropped connection, 429, 5xx) are retried with backoff, and
   * `retryInMs` says when. Default: one line on stderr per error (`taskhub subscribe: … (retrying in 1.0 s)`).
   */
  onError?: (error: Error, info: ErrorInfo) => void;
  /** First reconnect delay, ms; it doubles per failed attempt (with jitter). Default 500. */
  minDelayMs?: number;
  /** Longest reconnect delay, ms. Default 30,000. */
  maxDelayMs?: number;
}

export type EventHandler = (event: HubEvent) => void | Promise<void>;

export interface Subscription {
  /** Resolves once the first stream is open; rejects if the hub refuses it for good first. */
  readonly ready: Promise<void>;
  /** The newest event id seen (or given by the hub's `ready` frame); where a reconnect resumes. */
  readonly lastEventId: number | undefined;
  readonly closed: boolean;
  /** Ends the stream and any pending reconnect. Safe to call twice. */
  close(): void;
}

interface Deps {
  baseUrl: string;
  token: string;
  fetch: FetchLike;
}

/** Whether an answer to the stream request is worth retrying: limits and outages are, refusals are not. */
const retryable = (error: HttpError) => error.status === 429 || error.status >= 500;

/**
 * Holds the caller's SSE stream through the `eventsource` package. The package's own reconnect is not used:
 * it would resume only from an `id:` it saw, and the `ready` frame carries the resume point without one. Each
 * stream is closed at its first error and a new one opened after a backoff, with `Last-Event-ID` set to the
 * newest id known, so a stream dropped even before its first event resumes without a gap. Events at or below
 * that id are skipped: the handler sees each event once, in order.
 */
export function subscribe(deps: Deps, handler: EventHandler, options: SubscribeOptions = {}): Subscription {
  const minDelay = options.minDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  let lastEventId = options.lastEventId;
  let source: EventSource | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let opens = 0;
  let closed = false;
  let refusal: HttpError | undefined;
  let markReady!: () => void;
  let failReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => undefined);

  const onError = options.onError ?? stderrReporter('taskhub subscribe');
  const report = (error: Error, fatal: boolean, retryInMs?: number) =>
    onError(error, retryInMs === undefined ? { fatal } : { fatal, retryInMs });

  const deliver = (event: HubEvent) => {
    try {
      const done = handler(event);
      if (done instanceof Promise) done.catch((error: Error) => report(error, false));
    } catch (error) {
      report(error as Error, false);
    }
  };

  // Reads the refusal's contract error before handing the response on, since eventsource keeps only the status.
  const streamFetch: FetchLike = async (input, init) => {
    const headers: Record<string, string> = { ...(init?.headers as Record<string, string>), authorization: `Bearer ${deps.token}` };
    delete headers['Last-Event-ID'];
    if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
    const res = await deps.fetch(input, { ...init, headers });
    refusal = res.status === 200 ? undefined : await toHttpError(res.clone());
    return res;
  };

  const onFrame = (type: string, data: string) => {
    const parsed = JSON.parse(data) as Record<string, unknown>;
    if (type === 'reset') {
      lastEventId = parsed.lastEventId as number;
      deliver({ ...parsed, id: lastEventId, type, at: new Date().toISOString() });
      return;
    }
    const event = parsed as HubEvent;
    if (lastEventId !== undefined && event.id <= lastEventId) return;
    lastEventId = event.id;
    deliver(event);
  };

  const onReady = (data: string) => {
    const frame = JSON.parse(data) as { agent: string; lastEventId: number };
    lastEventId = frame.lastEventId;
    failures = 0;
    opens += 1;
    options.onOpen?.({ agent: frame.agent, lastEventId: frame.lastEventId, reconnected: opens > 1 });
    markReady();
  };

  const onStreamError = (es: EventSource, code: number | undefined, message: string | undefined) => {
    if (source !== es) return;
    source = undefined;
    // eventsource arms its own reconnect timer right after this event; closing on the next tick clears it.
    queueMicrotask(() => es.close());
    if (closed) return;
    const error = code ? refusal ?? new HttpError(code, `http_${code}`, message ?? `The hub answered ${code}.`) : undefined;
    if (error instanceof HttpError && !retryable(error)) {
      closed = true;
      report(error, true);
      failReady(error);
      return;
    }
    const backoff = Math.min(maxDelay, minDelay * 2 ** failures) * (0.5 + Math.random() / 2);
    const delay = Math.round(Math.max(backoff, (error?.retryAfterSeconds ?? 0) * 1000));
    failures += 1;
    retryTimer = setTimeout(connect, delay);
    report(error ?? new ConnectionError(`The event stream to ${deps.baseUrl} dropped: ${message ?? 'connection closed'}.`), false, delay);
  };

  function connect(): void {
    retryTimer = undefined;
    if (closed) return;
    const es = new EventSource(`${deps.baseUrl}/api/events`, { fetch: streamFetch });
    source = es;
    es.addEventListener('ready', (e) => source === es && onReady(e.data));
    for (const type of EVENT_TYPES) es.addEventListener(type, (e) => source === es && onFrame(type, e.data));
    es.addEventListener('error', (e) => onStreamError(es, e.code, e.message));
  }

  connect();
  return {
    ready,
    get lastEventId() {
      return lastEventId;
    },
    get closed() {
      return closed;
    },
    close() {
      if (closed && !source && !retryTimer) return;
      closed = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      source?.close();
      source = undefined;
      markReady();
    },
  };
}
