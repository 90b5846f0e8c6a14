/**
 * Many open streams: what each costs the server in memory, and how long one broadcast takes to reach all of
 * them. Run against the hub (agents with tokens, `POST /api/messages {to: "ALL"}`) and against the trivial SSE
 * server (`POST /broadcast`), with the same client and the same numbers.
 */
import { residentBytes } from '../processes.js';
import { median } from '../stats.js';
import { createJsonClient, openSse, type SseStream } from './http.js';
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

export async function streams(p: StreamsParams): Promise<StreamsResult> {
  const client = createJsonClient(p.url, 16);
  const agentNames = names('agent', p.agents);
  const tokens = p.mode === 'hub' ? await createAgents(client, p.adminToken!, agentNames) : undefined;
  const total = p.agents * p.streamsPerAgent;
  let round = 0;
  let delivered = 0;
  let duplicates = 0;
  let lastDeliveryAt = 0;
  let onAllDelivered: (() => void) | undefined;
  const seen = new Map<SseStream, number>();
  const open: SseStream[] = [];
  try {
    await sleep(SETTLE_MS);
    const rssBefore = residentBytes(p.pid);
    const openedAt = performance.now();
    const slots = agentNames.flatMap((name) => Array.from({ length: p.streamsPerAgent }, () => name));
    await pool(slots, 50, async (name) => {
      const url = p.mode === 'hub' ? `${p.url}/api/events` : `${p.url}/events?agent=${name}`;
      const stream: SseStream = openSse(url, tokens?.get(name), (event) => {
        if (event.type !== 'message') return;
        if ((seen.get(stream) ?? 0) >= round) duplicates += 1;
        seen.set(stream, round);
        lastDeliveryAt = performance.now();
        if (++delivered === total) onAllDelivered?.();
      });
      open.push(stream);
      await stream.opened;
    });
    const openMs = performance.now() - openedAt;
    await sleep(SETTLE_MS);
    const rssAfter = residentBytes(p.pid);

    const broadcastMs: number[] = [];
    for (round = 1; round <= p.broadcasts; round++) {
      delivered = 0;
      const all = new Promise<void>((resolve) => (onAllDelivered = resolve));
      const started = performance.now();
      const send =
        p.mode === 'hub'
          ? client.postOk('/api/messages', p.adminToken, { to: 'ALL', subject: 'hello', body: 'x'.repeat(100) })
          : client.postOk('/broadcast', undefined, { subject: 'hello', body: 'x'.repeat(100) });
      let cut: NodeJS.Timeout | undefined;
      const limit = new Promise<never>((_, reject) => {
        cut = setTimeout(
          () => reject(new Error(`broadcast ${round} reached ${delivered} of ${total} streams in ${BROADCAST_LIMIT_MS} ms`)),
          BROADCAST_LIMIT_MS,
        );
      });
      try {
        // The answer is waited for too, so that the next round starts from a quiet server.
        await Promise.race([Promise.all([all, send]), limit]);
      } finally {
        clearTimeout(cut);
      }
      broadcastMs.push(lastDeliveryAt - started);
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
      duplicates,
    };
  } finally {
    for (const stream of open) stream.close();
    client.close();
  }
}
