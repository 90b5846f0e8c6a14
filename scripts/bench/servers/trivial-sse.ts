/**
 * The streams baseline: a trivial in-memory SSE server. `GET /events?agent=NAME` holds a stream for that name;
 * `POST /broadcast {subject, body}` writes one `message` frame per name (the same shape the hub sends) to each
 * of its streams and answers how many streams it wrote to. No auth, no storage: what holding and feeding
 * streams costs in Node before any application code. Listens on `PORT` (loopback); `GET /healthz` → 200.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';

const streams = new Map<string, Set<http.ServerResponse>>();
let nextId = 1;

function broadcast(subject: string, body: string): number {
  let written = 0;
  const createdAt = new Date().toISOString();
  const threadId = randomUUID();
  for (const [agent, set] of streams) {
    const id = nextId++;
    const message = { id: randomUUID(), threadId, from: 'admin', to: agent, subject, body, inReplyTo: null, createdAt, readAt: null };
    const data = JSON.stringify({ id, type: 'message', at: createdAt, messageId: message.id, message });
    const frame = `id: ${id}\nevent: message\ndata: ${data}\n\n`;
    for (const res of set) {
      res.write(frame);
      written += 1;
    }
  }
  return written;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/events') {
    const agent = url.searchParams.get('agent') ?? 'anonymous';
    const set = streams.get(agent) ?? new Set();
    streams.set(agent, set.add(res));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`event: ready\ndata: {"type":"ready","agent":${JSON.stringify(agent)}}\n\n`);
    res.on('close', () => {
      set.delete(res);
      if (set.size === 0) streams.delete(agent);
    });
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let answer: object = { status: 'ok' };
    if (url.pathname === '/broadcast') {
      const { subject, body } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { subject: string; body: string };
      answer = { streams: broadcast(subject, body) };
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
