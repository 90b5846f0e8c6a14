/**
 * Server-sent events read with fetch, because the browser's EventSource cannot send an Authorization header.
 * `createSseParser` follows the WHATWG event-stream rules; `createLiveStream` adds reconnection with
 * `Last-Event-ID`, a watchdog for silent connections, and backoff.
 */

export interface SseFrame {
  /** `event:` field; `message` when absent. */
  event: string;
  data: string;
  /** The last event id after this frame (the stream's, carried over from earlier frames when this one has none). */
  lastEventId: string;
}

export interface SseParser {
  push(chunk: string): void;
  /** The `retry:` value the server asked for, ms. */
  retryMs(): number | undefined;
}

export function createSseParser(onFrame: (frame: SseFrame) => void, lastEventId = ''): SseParser {
  let buffer = '';
  let data: string[] = [];
  let event = '';
  let retry: number | undefined;

  const dispatch = () => {
    if (data.length > 0) onFrame({ event: event || 'message', data: data.join('\n'), lastEventId });
    data = [];
    event = '';
  };

  const line = (text: string) => {
    if (text === '') return dispatch();
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  };

  return {
    push(chunk) {
      buffer += chunk;
      // A lone trailing \r may be the first half of \r\n: keep it until the next chunk.
      const re = /\r\n|\n|\r(?!$)/g;
      let start = 0;
      for (let m = re.exec(buffer); m; m = re.exec(buffer)) {
        line(buffer.slice(start, m.index));
        start = m.index + m[0].length;
      }
      buffer = buffer.slice(start);
    },
    retryMs: () => retry,
  };
}

/**
 * taskhub's `ready` frame names the newest event id; a client that has seen no event yet resumes from there, so
 * that events between a dropped connection and the next one are replayed rather than lost.
 */
function readyPosition(frame: SseFrame): string {
  if (frame.event !== 'ready') return '';
  try {
    const id = (JSON.parse(frame.data) as { lastEventId?: unknown }).lastEventId;
    return typeof id === 'number' ? String(id) : '';
  } catch {
    return '';
  }
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface LiveStreamOptions {
  url: string;
  token: () => string | null;
  onFrame: (frame: SseFrame) => void;
  onState: (state: StreamState, detail?: string) => void;
  /** The hub refused the token: the stream stops. */
  onUnauthorized: () => void;
  /** No bytes for this long (ms) means the connection is dead; the hub pings every 15 s. Default 45,000. */
  silenceMs?: number;
  /** First reconnect delay, ms; doubles up to `maxBackoffMs`. Default 1,000. */
  backoffMs?: number;
  /** Default 15,000. */
  maxBackoffMs?: number;
}

/** One SSE connection that keeps itself open until `stop()`. */
export function createLiveStream(options: LiveStreamOptions) {
  const silenceMs = options.silenceMs ?? 45_000;
  const firstBackoff = options.backoffMs ?? 1000;
  const maxBackoff = options.maxBackoffMs ?? 15_000;
  let lastEventId = '';
  let backoff = firstBackoff;
  let current: AbortController | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = true;

  /** Reads one response to its end; resolves to the `retry:` the server asked for, if any. */
  const read = async (body: NonNullable<Response['body']>, feed: () => void): Promise<number | undefined> => {
    const parser = createSseParser((frame) => {
      lastEventId = frame.lastEventId || lastEventId || readyPosition(frame);
      backoff = firstBackoff;
      options.onFrame(frame);
    }, lastEventId);
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return parser.retryMs();
      feed();
      parser.push(value);
    }
  };

  /** One connection, then a reconnect after a delay unless stopped or refused. */
  const connect = async () => {
    retryTimer = undefined;
    const controller = (current = new AbortController());
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const feed = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), silenceMs);
    };
    let serverRetry: number | undefined;
    let detail = 'connection lost';
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${options.token() ?? ''}` };
      if (lastEventId) headers['last-event-id'] = lastEventId;
      feed();
      const res = await fetch(options.url, { headers, signal: controller.signal, cache: 'no-store' });
      if (res.status === 401 || res.status === 403) {
        stop();
        options.onUnauthorized();
        return;
      }
      if (res.ok && res.body) {
        serverRetry = await read(res.body, feed);
      } else {
        detail = `the hub answered ${res.status}`;
        serverRetry = Number(res.headers.get('retry-after')) * 1000 || undefined;
        await res.body?.cancel();
      }
    } catch {
      // Aborted by stop() or the watchdog, or the network failed: both end in a reconnect unless stopped.
    } finally {
      clearTimeout(watchdog);
    }
    if (stopped) return;
    const delay = serverRetry ?? backoff;
    backoff = Math.min(backoff * 2, maxBackoff);
    options.onState('reconnecting', `${detail}; retrying in ${Math.round(delay / 1000)} s`);
    retryTimer = setTimeout(() => void connect(), delay);
  };

  const stop = () => {
    stopped = true;
    clearTimeout(retryTimer);
    retryTimer = undefined;
    current?.abort();
    options.onState('stopped');
  };

  return {
    /** Opens the stream, resuming after `fromId` when given. */
    start(fromId = '') {
      if (!stopped) return;
      stopped = false;
      lastEventId = fromId;
      backoff = firstBackoff;
      options.onState('connecting');
      void connect();
    },
    stop,
    lastEventId: () => lastEventId,
  };
}

export type LiveStream = ReturnType<typeof createLiveStream>;
