import type { TestHub } from './hub.js';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One HTTP call to the hub: JSON in, JSON (or text) out; never throws for an HTTP status. */
export async function call<T = any>(
  hub: Pick<TestHub, 'url'>,
  token: string | undefined,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (token !== undefined) (init.headers as Record<string, string>).authorization = `Bearer ${token}`;
  if (body !== undefined) {
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`${hub.url}${route}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON (metrics, HTML): keep the text.
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** A client bound to one token, for tests that act as one agent or as the admin. */
export function as(hub: Pick<TestHub, 'url'>, token: string) {
  return {
    token,
    get: <T = any>(route: string) => call<T>(hub, token, 'GET', route),
    post: <T = any>(route: string, body?: unknown) => call<T>(hub, token, 'POST', route, body ?? {}),
    patch: <T = any>(route: string, body: unknown) => call<T>(hub, token, 'PATCH', route, body),
    put: <T = any>(route: string, body: unknown) => call<T>(hub, token, 'PUT', route, body),
    delete: <T = any>(route: string) => call<T>(hub, token, 'DELETE', route),
  };
}

export type Client = ReturnType<typeof as>;

/** Creates an agent through the API and returns a client acting as it. */
export async function addAgent(
  hub: TestHub,
  name: string,
  fields: { capabilities?: string[]; email?: string; description?: string } = {},
): Promise<Client & { name: string }> {
  const res = await call(hub, hub.adminToken, 'POST', '/api/agents', { name, ...fields });
  if (res.status !== 201) throw new Error(`creating agent ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...as(hub, res.body.token as string), name };
}
