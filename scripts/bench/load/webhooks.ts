/**
 * Webhooks: a receiver in this process (node:http, port 0), an agent with no stream whose webhook points at it.
 * Latency: one task at a time, from the `POST /api/tasks` that creates it to the webhook arriving at the receiver,
 * beside a bare POST of the same body from a keep-alive client to the same receiver (send → arrival). Throughput:
 * creators create tasks for a window; deliveries/s is what the receiver got in that window (bounded by how fast
 * tasks are created, when the sender keeps up). Drain: with the receiver holding every request unanswered, a backlog
 * is queued; once it answers again, the rate at which the backlog arrives is the sender's alone.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { summarize, type Latency } from '../stats.js';
import { createJsonClient } from './http.js';
import { createAgents, names, sleep, timedLoops } from './setup.js';

export interface WebhookParams {
  url: string;
  adminToken: string;
  /** Sequential tasks (after `warmup`) for the latency. */
  calls: number;
  warmup: number;
  /** Concurrent creators and the window of the throughput run. */
  clients: number;
  durationMs: number;
  warmupMs: number;
}

export interface WebhookResult {
  /** Task created → webhook received, sequential. */
  latency: Latency;
  /** A bare POST (keep-alive) to the same receiver, sent → received. */
  barePost: Latency;
  deliveriesPerS: number;
  created: number;
  delivered: number;
  /** Arrivals whose webhook-id had arrived before (at-least-once redeliveries). */
  duplicates: number;
  /** Created but not received within the drain limit. */
  missing: number;
  /** A queued backlog of `backlog` deliveries sent to a receiver answering at once: deliveries/s. */
  drain: { backlog: number; deliveriesPerS: number; missing: number };
}

/** How long the throughput run waits for deliveries still queued before counting them missing (ms). */
const DRAIN_MS = 30_000;

/**
 * The receiver: answers 204 at once and tells `onPost` of each arrival's body and webhook-id; while `hold` is on it
 * answers nothing (the requests wait, at most the sender's concurrency of them), and `release()` answers them.
 */
async function receiver(onPost: (body: string, webhookId: string | undefined, at: number) => void) {
  let holding = false;
  const held = new Set<() => void>();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = () => {
        res.statusCode = 204;
        res.end();
        onPost(Buffer.concat(chunks).toString('utf8'), req.headers['webhook-id'] as string | undefined, performance.now());
      };
      if (holding) held.add(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hold: () => void (holding = true),
    release() {
      holding = false;
      for (const answer of held) answer();
      held.clear();
    },
  };
}

async function barePosts(url: string, count: number, wait: (key: string) => Promise<number>): Promise<Latency> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const key = `bare-${i}`;
      const body = JSON.stringify({ id: i, type: 'task.assigned', taskId: key, task: { task: 't', payload: { k: key } } });
      const arrived = wait(key);
      const started = performance.now();
      const answered = new Promise<void>((resolve, reject) => {
        const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
        req.on('response', (res) => res.resume().on('end', resolve));
        req.on('error', reject);
        req.end(body);
      });
      samples.push((await arrived) - started);
      // The next POST goes out only once this one's answer is in, as the hub's sender does per socket.
      await answered;
    }
  } finally {
    agent.destroy();
  }
  return summarize(samples);
}

export async function webhooks(p: WebhookParams): Promise<WebhookResult> {
  const waiting = new Map<string, (at: number) => void>();
  const seen = new Set<string>();
  let duplicates = 0;
  let windowArrivals: number[] = [];
  const { server, url, hold, release } = await receiver((body, webhookId, at) => {
    if (webhookId !== undefined) {
      if (seen.has(webhookId)) duplicates += 1;
      seen.add(webhookId);
    }
    windowArrivals.push(at);
    const key = (JSON.parse(body) as { task?: { payload?: { k?: string } }; taskId?: string }).task?.payload?.k;
    if (key) waiting.get(key)?.(at);
  });
  const wait = (key: string) => new Promise<number>((resolve) => waiting.set(key, (at) => (waiting.delete(key), resolve(at))));
  const client = createJsonClient(p.url, p.clients + 2);
  try {
    const tokens = await createAgents(client, p.adminToken, ['hooked', ...names('creator', p.clients)]);
    const hooked = tokens.get('hooked')!;
    const put = await client.request('PUT', '/api/agents/hooked/webhook', hooked, { url });
    if (put.status !== 200) throw new Error(`PUT webhook: ${put.status} ${JSON.stringify(put.body)}`);
    const boss = tokens.get('creator-0')!;

    await barePosts(url, p.warmup, wait);
    const barePost = await barePosts(url, p.calls, wait);
    const samples: number[] = [];
    for (let i = 0; i < p.warmup + p.calls; i++) {
      const key = `seq-${i}`;
      const arrived = wait(key);
      const started = performance.now();
      await client.postOk('/api/tasks', boss, { target: 'hooked', task: 't', payload: { k: key } });
      const at = await arrived;
      if (i >= p.warmup) samples.push(at - started);
    }

    const creators = names('creator', p.clients).map((n) => tokens.get(n)!);

    /** Queues a backlog behind a receiver holding every request, then times how fast it drains. */
    const measureDrain = async () => {
      hold();
      const backlog = Math.max(200, Math.round(p.durationMs / 2));
      let next = 0;
      await Promise.all(
        creators.map(async (token, w) => {
          while (next < backlog) {
            next += 1;
            await client.postOk('/api/tasks', token, { target: 'hooked', task: 't', payload: { k: `drain-${w}-${next}` } });
          }
        }),
      );
      const start = seen.size;
      windowArrivals = [];
      const releasedAt = performance.now();
      release();
      const by = performance.now() + DRAIN_MS;
      while (seen.size - start < backlog && performance.now() < by) await sleep(5);
      const got = seen.size - start;
      const lastAt = windowArrivals.at(-1) ?? releasedAt;
      return { backlog, deliveriesPerS: Math.round(got / ((lastAt - releasedAt) / 1000)), missing: Math.max(0, backlog - got) };
    };
    let created = 0;
    const before = seen.size;
    windowArrivals = [];
    const window = await timedLoops(p.clients, p.warmupMs, p.durationMs, async (w, _counts, stop) => {
      for (let i = 0; !stop(); i++) {
        const answer = await client.post('/api/tasks', creators[w], { target: 'hooked', task: 't', payload: { k: `run-${w}-${i}` } });
        if (answer.status === 201) created += 1;
      }
    });
    const inWindow = windowArrivals.filter((at) => at >= window.windowStart && at <= window.windowEnd).length;
    const drainBy = performance.now() + DRAIN_MS;
    while (seen.size - before < created && performance.now() < drainBy) await sleep(50);
    const delivered = seen.size - before;
    const drain = await measureDrain();
    return {
      latency: summarize(samples),
      barePost,
      deliveriesPerS: Math.round(inWindow / (p.durationMs / 1000)),
      created,
      delivered,
      duplicates,
      missing: Math.max(0, created - delivered),
      drain,
    };
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
