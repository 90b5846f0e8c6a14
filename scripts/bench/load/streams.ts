/**
 * Many open streams: what each costs the server in memory, and how long one broadcast takes to reach all of
 * them. Run against the hub (agents with tokens, `POST /api/messages {to: "ALL"}`) and against the trivial SSE
 * server (`POST /broadcast`), with the same client and the same numbers.
 */
import { residentBytes } from '../processes.js';
import { median } from '../stats.js';
import { createJsonClient, openSse, type JsonClient, type SseStream } from './http.js';
import { createAgents, names, pool, sleep } from './setup.js';

export interface StreamsParams {
  url: string;
  mode: 'hub' | 'trivial';
  /** The server's pid, whose resident memory is read from /proc. */
  pid: number;
  agents: number;
  streamsPerAgent: number;
  broadcasts: number;
  adminToken?: string;
}

export interface StreamsResult {
  streams: number;
  rssBeforeBytes: number | null;
  rssAfterBytes: number | null;
  bytesPerStream: number | null;
  openMs: number;
  /** Time from sending each broadcast to its delivery on the last stream. */
  broadcastMs: number[];
  broadcastMedianMs: number;
  /** Streams that got one broadcast more than once (must be 0). */
  duplicates: number;
}

/** How long the server is left alone before its memory is read, so that the reading settles (ms). */
const SETTLE_MS = 1000;
/** The longest a broadcast may take to reach every stream before the run fails (ms). */
const BROADCAST_LIMIT_MS = 60_000;

/** Counts `message` frames per broadcast round over every stream; `round` is set by whoever broadcasts. */
function createTally(total: number) {
  const seen = new Map<SseStream, number>();
  let allDelivered: (() => void) | undefined;
  const tally = {
    round: 0,
    delivered: 0,
    duplicates: 0,
    lastDeliveryAt: 0,
    /** Starts a round; resolves when every stream has had its frame. */
    next(): Promise<void> {
      tally.round += 1;
      tally.delivered = 0;
      return new Promise<void>((resolve) => (allDelivered = resolve));
    },
    onFrame(stream: SseStream): void {
      if ((seen.get(stream) ?? 0) >= tally.round) tally.duplicates += 1;
      seen.set(stream, tally.round);
      tally.lastDeliveryAt = performance.now();
      if (++tally.delivered === total) allDelivered?.();
    },
  };
  return tally;
}
type Tally = ReturnType<typeof createTally>;

/** Opens `streamsPerAgent` streams for each agent, 50 at a time, into `open`. */
async function openStreams(p: StreamsParams, agentNames: string[], tokens: Map<string, string> | undefined,
  tally: Tally, open: SseStream[]): Promise<void> {
  const slots = agentNames.flatMap((name) => Array.from({ length: p.streamsPerAgent }, () => name));
  await pool(slots, 50, async (name) => {
    const url = p.mode === 'hub' ? `${p.url}/api/events` : `${p.url}/events?agent=${name}`;
    const stream: SseStream = openSse(url, tokens?.get(name), (event) => {
      if (event.type === 'message') tally.onFrame(stream);
    });
    open.push(stream);
    await stream.opened;
  });
}

/** One broadcast: the time from sending it to its frame on the last stream (ms). */
async function broadcastOnce(p: StreamsParams, client: JsonClient, tally: Tally, total: number): Promise<number> {
  const all = tally.next();
  const started = performance.now();
  const body = { subject: 'hello', body: 'x'.repeat(100) };
  const send =
    p.mode === 'hub'
      ? client.postOk('/api/messages', p.adminToken, { to: 'ALL', ...body })
      : client.postOk('/broadcast', undefined, body);
  let cut: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    const fail = () =>
      reject(new Error(`broadcast ${tally.round} reached ${tally.delivered} of ${total} streams in ${BROADCAST_LIMIT_MS} ms`));
    cut = setTimeout(fail, BROADCAST_LIMIT_MS);
  });
  try {
    // The answer is waited for too, so that the next round starts from a quiet server.
    await Promise.race([Promise.all([all, send]), limit]);
  } finally {
    clearTimeout(cut);
  }
  return tally.lastDeliveryAt - started;
}

export async function streams(p: StreamsParams): Promise<StreamsResult> {
  const client = createJsonClient(p.url, 16);
  const agentNames = names('agent', p.agents);
  const tokens = p.mode === 'hub' ? await createAgents(client, p.adminToken!, agentNames) : undefined;
  const total = p.agents * p.streamsPerAgent;
  const tally = createTally(total);
  const open: SseStream[] = [];
  try {
    await sleep(SETTLE_MS);
    const rssBefore = residentBytes(p.pid);
    const openedAt = performance.now();
    await openStreams(p, agentNames, tokens, tally, open);
    const openMs = performance.now() - openedAt;
    await sleep(SETTLE_MS);
    const rssAfter = residentBytes(p.pid);
    const broadcastMs: number[] = [];
    for (let i = 0; i < p.broadcasts; i++) {
      broadcastMs.push(await broadcastOnce(p, client, tally, total));
      await sleep(200);
    }
    const known = rssBefore !== undefined && rssAfter !== undefined;
    return {
      streams: open.length,
      rssBeforeBytes: rssBefore ?? null,
      rssAfterBytes: rssAfter ?? null,
      bytesPerStream: known ? Math.round((rssAfter - rssBefore) / open.length) : null,
      openMs: Math.round(openMs),
      broadcastMs: broadcastMs.map((ms) => Math.round(ms * 10) / 10),
      broadcastMedianMs: Math.round(median(broadcastMs) * 10) / 10,
      duplicates: tally.duplicates,
    };
  } finally {
    for (const stream of open) stream.close();
    client.close();
  }
}
