import { ConnectionError, HttpError, type ErrorDetail } from './errors.js';

export type FetchLike = typeof globalThis.fetch;

export interface HttpSettings {
  /** Base URL of the hub, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Bearer token (agent or admin JWT). */
  token: string;
  /** The fetch to use. Default: the global one. */
  fetch?: FetchLike;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
}

export type Request = <T>(method: string, path: string, options?: RequestOptions) => Promise<T>;

const isAbort = (error: unknown) => error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');

/** Reads the contract's error document, or makes one up for an answer that is not ours (a proxy's 502 page). */
export async function toHttpError(res: Response): Promise<HttpError> {
  const retryAfter = Number(res.headers.get('retry-after'));
  const extra: { details?: ErrorDetail[]; retryAfterSeconds?: number } = {};
  if (Number.isFinite(retryAfter) && retryAfter > 0) extra.retryAfterSeconds = retryAfter;
  const text = await res.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string; details?: ErrorDetail[] } };
    if (typeof error?.code === 'string') {
      if (error.details) extra.details = error.details;
      return new HttpError(res.status, error.code, error.message, extra);
    }
  } catch {
    // Not JSON: fall through.
  }
  return new HttpError(res.status, `http_${res.status}`, `The hub answered ${res.status} ${res.statusText}.`.trim(), extra);
}

/** What an answer is read as: JSON (the default), or, from `open`, any type the route answers with. */
export interface OpenOptions extends RequestOptions {
  accept?: string;
}

/** A request whose answer is handed over unread once its status is 2xx (a stream, NDJSON). */
export type Open = (method: string, path: string, options?: OpenOptions) => Promise<Response>;

/**
 * The SDK's one way to call the hub: JSON in, JSON out (`request`), or JSON in and the answer unread (`open`); an
 * `HttpError` for any error status and a `ConnectionError` when no answer came back. An abort through `signal`
 * rejects with the signal's reason.
 */
export function createRequest(settings: HttpSettings): { request: Request; open: Open; baseUrl: string; fetch: FetchLike } {
  const baseUrl = settings.url.replace(/\/+$/, '');
  const doFetch = settings.fetch ?? globalThis.fetch;

  const open: Open = async (method, path, options = {}) => {
    const url = new URL(`${baseUrl}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { authorization: `Bearer ${settings.token}`, accept: options.accept ?? 'application/json' };
    const init: RequestInit = { method, headers };
    if (options.signal) init.signal = options.signal;
    // Every POST carries a JSON body, `{}` when there is nothing to say, as the hub's strict schemas expect.
    const body = options.body ?? (method === 'POST' ? {} : undefined);
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await doFetch(url, init);
      if (!res.ok) throw await toHttpError(res);
    } catch (error) {
      if (error instanceof HttpError || isAbort(error)) throw error;
      throw noAnswer(baseUrl, method, path, error);
    }
    return res;
  };

  const request: Request = async <T>(method: string, path: string, options: RequestOptions = {}) => {
    const res = await open(method, path, options);
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      if (isAbort(error)) throw error;
      throw noAnswer(baseUrl, method, path, error);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };

  return { request, open, baseUrl, fetch: doFetch };
}

/** The `ConnectionError` of a request that got no answer, or whose answer broke off while it was read. */
export function noAnswer(baseUrl: string, method: string, path: string, error: unknown): ConnectionError {
  return new ConnectionError(`No answer from the hub at ${baseUrl} (${method} ${path}): ${describe(error)}`, { cause: error });
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
