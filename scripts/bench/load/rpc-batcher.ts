/**
 * The bench's one caller process holding one caller token, as the SDK's client does: the calls its loops make in
 * one event-loop turn go together, as one `POST /api/tasks/rpcs` when there are several and as one
 * `POST /api/tasks/rpc` when there is one. Each call resolves with its line (the status and the rpc answer, or the
 * error); a request that fails as a whole rejects its calls.
 */
import { RPCS_PER_REQUEST } from '@taskhub/sdk/wire';
import type { JsonAnswer, JsonClient } from './http.js';

interface Queued {
  body: unknown;
  resolve: (answer: JsonAnswer) => void;
  reject: (error: unknown) => void;
}

export interface RpcBatcher {
  call(body: unknown): Promise<JsonAnswer>;
  /** Requests sent so far, and calls they carried. */
  counts(): { requests: number; calls: number };
}

/** Calls as `token` through `client` (whose sockets it shares). */
export function createRpcBatcher(client: JsonClient, token: string): RpcBatcher {
  const queued: Queued[] = [];
  let scheduled = false;
  let requests = 0;
  let calls = 0;

  const alone = (q: Queued) => client.post('/api/tasks/rpc', token, q.body).then(q.resolve, q.reject);

  const together = (batch: Queued[]) => {
    const failAll = (error: unknown) => {
      for (const q of batch) q.reject(error);
    };
    client.open('POST', '/api/tasks/rpcs', token, { calls: batch.map((q) => q.body) }, (res) => {
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
      const batch = queued.splice(0, RPCS_PER_REQUEST);
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
  };
}
