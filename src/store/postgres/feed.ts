import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { HubEvent } from '../../domain/types.js';
import type { EventFeed } from '../store.js';
import { EVENTS_CHANNEL, TOKENS_CHANNEL } from './channels.js';
import { expanderFor } from './event-expander.js';
import { INT8_AS_NUMBER } from './pool.js';
import { runOn } from './session.js';
import type { TokenVersionCache } from './token-versions.js';

/** Events read per query while catching up. */
export const FEED_PAGE = 500;
/** First and longest wait before the LISTEN connection is opened again after it failed, ms. */
export const FEED_RECONNECT_MIN_MS = 100;
export const FEED_RECONNECT_MAX_MS = 5_000;

// Recipients by a subquery per event (event_recipients_by_event) rather than a join and GROUP BY over the page.
const READ = `SELECT e.id, e.type, e.at, e.task_id, e.data,
    ARRAY(SELECT r.agent FROM event_recipients r WHERE r.event_id = e.id) AS recipients
  FROM events e WHERE e.id > $1 ORDER BY e.id LIMIT $2`;

interface RawFeedEvent {
  id: number;
  type: string;
  at: number;
  task_id: string | null;
  data: string;
  recipients: string[];
}

/** The feed as this store's writer sees it: besides following, it is told what this hub committed. */
export interface PostgresEventFeed extends EventFeed {
  /**
   * The payload of this store's NOTIFYs. A notification carrying it is this hub's own commit, which `committed`
   * already handed over: it costs no read. Any other payload (another hub's, or none) makes the feed read.
   */
  readonly ownPayload: string;
  /**
   * Events this hub has just committed, in any order, and the newest id any other transaction had committed when
   * this one took the events lock (every other committed id is at most that). When the feed has read that far,
   * no event it has not seen lies below these: it publishes them as they are, without reading them back.
   */
  committed(events: readonly HubEvent[], committedBefore: number): void;
  /** Reads whatever is new (a commit whose outcome is unknown: its connection broke). */
  poke(): void;
}

/**
 * The event feed on PostgreSQL: one dedicated LISTEN connection per hub, which also runs the feed's reads (one at a
 * time, so a notification arriving meanwhile waits for nothing it would not wait for anyway). A notification only
 * wakes it; it then reads the new rows from `events` (ids are visible in order, see events.ts, so reading
 * `id > cursor` misses nothing). This hub's own commits are handed over by the writer instead (`committed`) and
 * published without a read when nothing unseen lies below them. The connection reopens with backoff when it fails,
 * and every (re)connect starts with a catch-up read, so notifications lost while it was down cost nothing.
 * The same connection LISTENs to the token channel for `tokens`, the hub's copy of token versions, which it tells
 * whether it listens (the copy is trusted only then) and which names changed.
 */
export function createEventFeed(
  url: string,
  onError: (error: unknown) => void = () => {},
  tokens?: TokenVersionCache,
): PostgresEventFeed {
  const ownPayload = randomBytes(8).toString('hex');
  let client: pg.Client | undefined;
  let cursor = 0;
  let deliver: (events: HubEvent[]) => void = () => {};
  let stopped = true;
  let retry: NodeJS.Timeout | undefined;
  let backoff = FEED_RECONNECT_MIN_MS;
  let connecting: Promise<void> | undefined;
  // The feed's one worker: reads wanted, and own commits waiting to be published, in commit order.
  let readWanted = false;
  const own: { events: readonly HubEvent[]; committedBefore: number }[] = [];
  let working: Promise<void> | undefined;

  const readOnce = async () => {
    const listener = client;
    if (!listener) throw new Error('the feed is reconnecting');
    // Prepared once on the connection: a read per notification, each parsed and planned again, adds up.
    const reader = {
      rows: async <R>(sql: string, params?: readonly unknown[]): Promise<R[]> => (await runOn(listener, sql, params)).rows as R[],
    };
    for (;;) {
      const rows = await reader.rows<RawFeedEvent>(READ, [cursor, FEED_PAGE]);
      if (stopped || rows.length === 0) return;
      // Events stored by reference carry their full data on the bus too (event-refs.ts).
      const expand = await expanderFor(reader, rows);
      if (stopped) return;
      cursor = rows[rows.length - 1]!.id;
      deliver(rows.map((r) => ({ id: r.id, type: r.type, at: r.at, taskId: r.task_id, recipients: r.recipients, data: expand(r.task_id, r.data) })));
      if (rows.length < FEED_PAGE) return;
    }
  };

  /** Publishes own events when nothing unseen lies below them; otherwise reads (which finds them too). */
  const publishOwn = async (batch: { events: readonly HubEvent[]; committedBefore: number }) => {
    if (cursor < batch.committedBefore) return readOnce();
    const fresh = batch.events.filter((e) => e.id > cursor).sort((a, b) => a.id - b.id);
    if (fresh.length === 0) return;
    cursor = fresh[fresh.length - 1]!.id;
    deliver(fresh);
  };

  const work = (): void => {
    if (stopped || working || !client) return;
    working = (async () => {
      while (!stopped && (own.length > 0 || readWanted)) {
        const batch = own.shift();
        if (batch) {
          await publishOwn(batch);
        } else {
          readWanted = false;
          await readOnce();
        }
      }
    })()
      .catch((error: unknown) => {
        onError(error);
        scheduleReconnect();
      })
      .finally(() => {
        working = undefined;
      });
  };

  const read = (): void => {
    readWanted = true;
    work();
  };

  const scheduleReconnect = () => {
    tokens?.listening(false);
    if (stopped || retry) return;
    const old = client;
    client = undefined;
    old?.end().catch(() => {});
    retry = setTimeout(() => {
      retry = undefined;
      connecting = connect();
    }, backoff);
    backoff = Math.min(backoff * 2, FEED_RECONNECT_MAX_MS);
  };

  const connect = async () => {
    const listener = new pg.Client({ connectionString: url, application_name: 'taskhub-feed', types: INT8_AS_NUMBER });
    listener.on('notification', (message) => {
      if (message.channel === TOKENS_CHANNEL) tokens?.changed(message.payload ?? '');
      else if (message.payload !== ownPayload) read();
    });
    listener.on('error', (error) => {
      onError(error);
      if (client === listener) scheduleReconnect();
    });
    try {
      await listener.connect();
      await listener.query(`LISTEN ${EVENTS_CHANNEL}; LISTEN ${TOKENS_CHANNEL}`);
      if (stopped) return void listener.end().catch(() => {});
      client = listener;
      tokens?.listening(true);
      backoff = FEED_RECONNECT_MIN_MS;
      read();
    } catch (error) {
      onError(error);
      listener.end().catch(() => {});
      scheduleReconnect();
    }
  };

  return {
    ownPayload,
    start(afterId, onEvents) {
      cursor = afterId;
      deliver = onEvents;
      stopped = false;
      connecting = connect();
    },
    committed(events, committedBefore) {
      if (stopped || events.length === 0) return;
      own.push({ events, committedBefore });
      work();
    },
    poke: read,
    async stop() {
      stopped = true;
      tokens?.listening(false);
      clearTimeout(retry);
      retry = undefined;
      await connecting;
      await working;
      const old = client;
      client = undefined;
      await old?.end().catch(() => {});
    },
  };
}

