/**
 * The bench's one caller process holding one caller token, as the SDK's client does: the calls its loops make in
 * one event-loop turn go together, as one `POST /api/tasks/rpcs` when there are several and as one
 * `POST /api/tasks/rpc` when there is one. Each call resolves with its line (the status and the rpc answer, or the
 * error); a request that fails as a whole rejects its calls.
 */
import http from 'node:http';
import type { JsonAnswer } from './http.js';

const PER_REQUEST = 100;

interface Queued {
  body: unknown;
  resolve: (answer: JsonAnswer) => void;
  reject: (error: unknown) => void;
}

export interface RpcBatcher {
  call(body: unknown): Promise<JsonAnswer>;
  /** Requests sent so far, and calls they carried. */
  counts(): { requests: number; calls: number };
  close(): void;
}

export function createRpcBatcher(base: string, token: string, maxSockets = 256): RpcBatcher {
  const { hostname, port } = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const queued: Queued[] = [];
  let scheduled = false;
  let requests = 0;
  let calls = 0;

  const post = (path: string, payload: string, onResponse: (res: http.IncomingMessage) => void, onError: (e: unknown) => void) => {
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    };
    const req = http.request({ hostname, port, method: 'POST', path, headers, agent }, onResponse);
    req.on('error', onError);
    req.end(payload);
  };

  const alone = (q: Queued) =>
    post('/api/tasks/rpc', JSON.stringify(q.body), (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => q.resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', q.reject);
    }, q.reject);

  const together = (batch: Queued[]) => {
    const failAll = (error: unknown) => {
      for (const q of batch) q.reject(error);
    };
    post('/api/tasks/rpcs', JSON.stringify({ calls: batch.map((q) => q.body) }), (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return failAll(new Error(`POST /api/tasks/rpcs answered ${res.statusCode}`));
      }
      res.setEncoding('utf8');
      let buffer = '';
      let answered = 0;
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n')) !== -1) {
          const line = JSON.parse(buffer.slice(0, end)) as { index: number; status: number; answer?: unknown; error?: unknown };
          buffer = buffer.slice(end + 1);
          answered += 1;
          batch[line.index]!.resolve({ status: line.status, body: line.status === 200 ? line.answer : { error: line.error } });
        }
      });
      res.on('end', () => {
        if (answered < batch.length) failAll(new Error(`POST /api/tasks/rpcs answered ${answered} of ${batch.length} calls`));
      });
      res.on('error', failAll);
    }, failAll);
  };

  const flush = () => {
    scheduled = false;
    while (queued.length > 0) {
      const batch = queued.splice(0, PER_REQUEST);
      requests += 1;
      calls += batch.length;
      if (batch.length === 1) alone(batch[0]!);
      else together(batch);
    }
  };

  return {
    call: (body) =>
      new Promise<JsonAnswer>((resolve, reject) => {
        queued.push({ body, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }),
    counts: () => ({ requests, calls }),
    close: () => agent.destroy(),
  };
}
