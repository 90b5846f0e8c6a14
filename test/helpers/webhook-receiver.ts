import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPost {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** What the receiver does with the n-th request (0-based): answer a status, or hang without answering. */
export type Behaviour = (n: number, request: ReceivedPost) => number | 'hang';

/**
 * A real HTTP receiver on 127.0.0.1, port 0, keeping every request it gets. By default it answers 204; `behave`
 * chooses per request. `waitFor(n)` resolves once n requests have arrived; `close()` ends the server and every
 * connection (hanging ones included).
 */
export async function startReceiver(behave: Behaviour = () => 204) {
  const received: ReceivedPost[] = [];
  const waiters = new Set<() => void>();
  const hanging = new Set<http.ServerResponse>();
  let behaviour = behave;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const post: ReceivedPost = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      const answer = behaviour(received.length, post);
      received.push(post);
      for (const wake of waiters) wake();
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      res.statusCode = answer;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    /** Changes what later requests get. */
    behave(next: Behaviour) {
      behaviour = next;
    },
    /** Resolves once `count` requests have arrived; rejects after `timeoutMs`. */
    async waitFor(count: number, timeoutMs = 10_000): Promise<ReceivedPost[]> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`receiver: ${received.length} of ${count} requests after ${timeoutMs} ms`);
        let timer: NodeJS.Timeout | undefined;
        let wake: (() => void) | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          waiters.add(resolve);
          timer = setTimeout(resolve, left);
        });
        clearTimeout(timer);
        waiters.delete(wake!);
      }
      return received.slice(0, count);
    },
    async close(): Promise<void> {
      for (const res of hanging) res.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
