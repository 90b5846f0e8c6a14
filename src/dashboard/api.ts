/** An error answer of the hub (`{"error": {code, message}}`), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }

  /** The message with each bad field, for people. */
  describe(): string {
    const fields = this.details.map((d) => `${d.path}: ${d.message}`).join('; ');
    return fields ? `${this.message} (${fields})` : this.message;
  }

  /** The route does not exist on this hub (a part not installed): the view says "not available". */
  get routeMissing(): boolean {
    return this.status === 404 && /^There is no route/.test(this.message);
  }
}

export interface Api {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T>;
}

export interface ApiOptions {
  /** The admin token, read on every call. */
  token: () => string | null;
  /** Called when the hub refuses the token (401), before the call rejects. */
  onUnauthorized: () => void;
}

/** JSON calls to the hub with the admin token in the Authorization header. */
export function createApi({ token, onUnauthorized }: ApiOptions): Api {
  const request = async <T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    const current = token();
    if (current) headers.authorization = `Bearer ${current}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body), signal: signal ?? null });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, 'network_error', 'The hub cannot be reached.');
    }
    const text = await res.text();
    const parsed = text ? safeJson(text) : undefined;
    if (res.ok) return parsed as T;
    const err = (parsed as { error?: { code?: string; message?: string; details?: ApiError['details'] } } | undefined)?.error;
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `The hub answered ${res.status}.`, err?.details);
  };

  return {
    get: (path, signal) => request('GET', path, undefined, signal),
    post: (path, body = {}, signal) => request('POST', path, body, signal),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
