import { ConnectionError, HttpError } from './errors.js';
import { noAnswer, type Open, type Request } from './http.js';
import { RPCS_PER_REQUEST, type RpcAnswer, type RpcLine } from './wire.js';

export interface RpcSenderDeps {
  request: Request;
  open: Open;
  baseUrl: string;
}

/** Sends one rpc body and resolves with its answer; throws as `request` does (`HttpError`, `ConnectionError`). */
export type RpcSend = (body: object, signal: AbortSignal) => Promise<RpcAnswer>;

interface Queued {
  body: object;
  signal: AbortSignal;
  resolve: (answer: RpcAnswer) => void;
  reject: (error: unknown) => void;
  /** Set while the call waits in a batch request. */
  onAbort: () => void;
}

/**
 * Answers to a whole batch after which each call is sent again on its own, to get its own verdict: the hub has no
 * batch route (404, a hub of before it), one call is malformed (400: the others are not), or the calls together
 * are over the body limit (413) while each may fit. None of these created anything.
 */
const ONE_BY_ONE = new Set([400, 404, 413]);

const PATH = '/api/tasks/rpcs';

// Node's, which runs once the I/O of this turn has been handled; elsewhere the next macrotask.
const nextTurn: (run: () => void) => void = globalThis.setImmediate ?? ((run) => setTimeout(run, 0));

/**
 * The rpcs a client makes in one event-loop turn leave together: as one `POST /api/tasks/rpcs` when there are several
 * (the hub's cost per request is what it saves), and as `POST /api/tasks/rpc` when there is one, so a lone call is
 * sent exactly as before. Each call settles as the single route would have answered it: its answer, an `HttpError`
 * with its line's status and code, or a `ConnectionError` when the request broke before its line came. A call's
 * own abort settles that call alone; the request is abandoned once no call of it is still waiting. A batch refused
 * as a whole (`ONE_BY_ONE`) is sent again call by call; after a 404 (a hub older than the batch route) every call
 * goes on its own from then on.
 */
export function createRpcSender(deps: RpcSenderDeps): RpcSend {
  let queued: Queued[] = [];
  let scheduled = false;
  let batchesRefused = false;

  const alone = (q: Queued) => deps.request<RpcAnswer>('POST', '/api/tasks/rpc', { body: q.body, signal: q.signal }).then(q.resolve, q.reject);

  const together = async (batch: Queued[]) => {
    const waiting = new Set(batch);
    const request = new AbortController();
    /** Takes a call out of the request; the request is abandoned once none waits on it. */
    const release = (q: Queued) => {
      q.signal.removeEventListener('abort', q.onAbort);
      waiting.delete(q);
      if (waiting.size === 0) request.abort();
    };
    const settle = (q: Queued, outcome: { answer: RpcAnswer } | { error: unknown }) => {
      if (!waiting.has(q)) return;
      release(q);
      if ('answer' in outcome) q.resolve(outcome.answer);
      else q.reject(outcome.error);
    };
    for (const q of batch) {
      q.onAbort = () => settle(q, { error: q.signal.reason });
      q.signal.addEventListener('abort', q.onAbort, { once: true });
    }
    let res: Response;
    try {
      const body = { calls: batch.map((q) => q.body) };
      res = await deps.open('POST', PATH, { body, signal: request.signal, accept: 'application/x-ndjson' });
    } catch (error) {
      if (error instanceof HttpError && ONE_BY_ONE.has(error.status)) {
        if (error.status === 404) batchesRefused = true;
        for (const q of [...waiting]) {
          release(q);
          void alone(q);
        }
        return;
      }
      for (const q of [...waiting]) settle(q, { error });
      return;
    }
    try {
      for await (const line of lines(res)) {
        const q = batch[line.index];
        if (!q) continue;
        if (line.status === 200 && 'answer' in line) settle(q, { answer: line.answer });
        else if ('error' in line) {
          const { code, message, details } = line.error;
          settle(q, { error: new HttpError(line.status, code, message, details ? { details } : {}) });
        }
      }
    } catch (error) {
      const broken = noAnswer(deps.baseUrl, 'POST', PATH, error);
      for (const q of [...waiting]) settle(q, { error: broken });
    }
    const missing = new ConnectionError(`The hub ended POST ${PATH} before answering every call.`);
    for (const q of [...waiting]) settle(q, { error: missing });
  };

  const flush = () => {
    scheduled = false;
    const ready = queued.filter((q) => !q.signal.aborted);
    for (const q of queued) if (q.signal.aborted) q.reject(q.signal.reason);
    queued = [];
    for (let at = 0; at < ready.length; at += RPCS_PER_REQUEST) {
      const batch = ready.slice(at, at + RPCS_PER_REQUEST);
      if (batch.length === 1 || batchesRefused) for (const q of batch) void alone(q);
      else void together(batch);
    }
  };

  return (body, signal) =>
    new Promise<RpcAnswer>((resolve, reject) => {
      queued.push({ body, signal, resolve, reject, onAbort: () => {} });
      if (!scheduled) {
        scheduled = true;
        nextTurn(flush);
      }
    });
}

/** The NDJSON lines of an answer, parsed, as they arrive. */
async function* lines(res: Response): AsyncGenerator<RpcLine> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n')) !== -1) {
      const text = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (text !== '') yield JSON.parse(text) as RpcLine;
    }
  }
}
