/**
 * The load generators' HTTP client: node:http with keep-alive sockets and no extras, so that what the bench
 * measures is the server and not the client. The floor and the hub are measured through the same client.
 */
import http from 'node:http';

export interface JsonAnswer {
  status: number;
  body: any;
}

export interface JsonClient {
  /** Sends `body` as JSON (none when undefined) and parses the answer; rejects on socket errors only. */
  request(method: string, path: string, token: string | undefined, body?: unknown): Promise<JsonAnswer>;
  post(path: string, token: string | undefined, body?: unknown): Promise<JsonAnswer>;
  /** Sends `body` as JSON and hands the answer over unread (a stream); `onError` on socket errors. */
  open(method: string, path: string, token: string | undefined, body: unknown,
    onResponse: (res: http.IncomingMessage) => void, onError: (error: unknown) => void): void;
  /** Like `post`, but rejects unless the status is 2xx. */
  postOk(path: string, token: string | undefined, body?: unknown): Promise<any>;
  close(): void;
}

/** A JSON client for `base` (e.g. `http://127.0.0.1:8080`) holding at most `maxSockets` keep-alive sockets. */
export function createJsonClient(base: string, maxSockets = 256): JsonClient {
  const { hostname, port } = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const open: JsonClient['open'] = (method, path, token, body, onResponse, onError) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const req = http.request({ hostname, port, method, path, headers, agent }, onResponse);
    req.on('error', onError);
    req.end(payload);
  };
  const request = (method: string, path: string, token: string | undefined, body?: unknown) =>
    new Promise<JsonAnswer>((resolve, reject) => {
      open(method, path, token, body, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // Not JSON: handed back as text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      }, reject);
    });
  const post = (path: string, token: string | undefined, body?: unknown) => request('POST', path, token, body);
  return {
    open,
    request,
    post,
    async postOk(path, token, body) {
      const answer = await post(path, token, body);
      if (answer.status < 200 || answer.status > 299) {
        throw new Error(`POST ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      return answer.body;
    },
    close: () => agent.destroy(),
  };
}

export interface SseEvent {
  id: string | undefined;
  type: string;
  data: string;
}

export interface SseStream {
  /** Resolves once the first frame (`ready` on the hub) has arrived. */
  opened: Promise<void>;
  close(): void;
}

/**
 * Opens one SSE stream on its own socket and calls `onEvent` for each frame, with a small line parser (only
 * `id`, `event` and one-line `data`, which is all either server sends). Comments (`: ping`) are skipped.
 */
export function openSse(url: string, token: string | undefined, onEvent: (event: SseEvent) => void): SseStream {
  const headers: http.OutgoingHttpHeaders = { accept: 'text/event-stream' };
  if (token) headers.authorization = `Bearer ${token}`;
  let req: http.ClientRequest | undefined;
  let closed = false;
  const opened = new Promise<void>((resolve, reject) => {
    req = http.get(url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url}: ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      let first = true;
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseBlock(block);
          if (!event) continue;
          if (first) {
            first = false;
            resolve();
          }
          onEvent(event);
        }
      });
      res.on('error', () => {});
      res.on('close', () => reject(new Error(`stream ${url} closed before its first frame`)));
    });
    req.on('error', (error) => (closed ? resolve() : reject(error)));
  });
  return {
    opened,
    close() {
      closed = true;
      req?.destroy();
    },
  };
}

function parseBlock(block: string): SseEvent | undefined {
  let id: string | undefined;
  let type = 'message';
  let data: string | undefined;
  for (const line of block.split('\n')) {
    if (line.startsWith('data: ')) data = line.slice(6);
    else if (line.startsWith('event: ')) type = line.slice(7);
    else if (line.startsWith('id: ')) id = line.slice(4);
  }
  return data === undefined ? undefined : { id, type, data };
}
