import pg from 'pg';
import type { HubEvent } from '../../domain/types.js';
import type { EventFeed } from '../store.js';
import { expanderFor } from './event-expander.js';
import { translateError } from './pool.js';

/** The channel a transaction that wrote events notifies (once, at commit); the payload is ignored. */
export const EVENTS_CHANNEL = 'taskhub_events';
/** Events read per query while catching up. */
export const FEED_PAGE = 500;
/** First and longest wait before the LISTEN connection is opened again after it failed, ms. */
export const FEED_RECONNECT_MIN_MS = 100;
export const FEED_RECONNECT_MAX_MS = 5_000;

const READ = `SELECT e.id, e.type, e.at, e.task_id, e.data,
    coalesce(array_agg(r.agent) FILTER (WHERE r.agent IS NOT NULL), '{}') AS recipients
  FROM events e LEFT JOIN event_recipients r ON r.event_id = e.id
  WHERE e.id > $1 GROUP BY e.id ORDER BY e.id LIMIT $2`;

interface RawFeedEvent {
  id: number;
  type: string;
  at: number;
  task_id: string | null;
  data: string;
  recipients: string[];
}

/**
 * The event feed on PostgreSQL: one dedicated LISTEN connection per hub. A notification only wakes it; it then
 * reads the new rows from `events` (ids are visible in order, see events.ts, so reading `id > cursor` misses
 * nothing). The connection reopens with backoff when it fails, and every (re)connect starts with a catch-up read,
 * so notifications lost while it was down cost nothing.
 */
export function createEventFeed(url: string, pool: pg.Pool, onError: (error: unknown) => void = () => {}): EventFeed {
  let client: pg.Client | undefined;
  let cursor = 0;
  let deliver: (events: HubEvent[]) => void = () => {};
  let stopped = true;
  let reading: Promise<void> | undefined;
  let again = false;
  let retry: NodeJS.Timeout | undefined;
  let backoff = FEED_RECONNECT_MIN_MS;
  let connecting: Promise<void> | undefined;

  // Reads through the pool, not the LISTEN connection, so that a slow read never delays a notification.
  const reader = {
    rows: async <R>(sql: string, params?: readonly unknown[]): Promise<R[]> =>
      (await pool.query(sql, params as unknown[]).catch(translateError)).rows as R[],
  };
  const readOnce = async () => {
    for (;;) {
      const rows = await reader.rows<RawFeedEvent>(READ, [cursor, FEED_PAGE]);
      if (stopped || rows.length === 0) return;
      // Events stored by reference carry their full data on the bus too (event-refs.ts).
      const expand = await expanderFor(reader, rows);
      if (stopped) return;
      cursor = rows[rows.length - 1]!.id;
      const events = rows.map((r) => ({ id: r.id, type: r.type, at: r.at, taskId: r.task_id, recipients: r.recipients }));
      deliver(events.map((e, i) => ({ ...e, data: expand(e.taskId, rows[i]!.data) })));
      if (rows.length < FEED_PAGE) return;
    }
  };
  // One read at a time; a wake during a read makes it read once more.
  const read = (): void => {
    if (stopped) return;
    if (reading) {
      again = true;
      return;
    }
    reading = (async () => {
      do {
        again = false;
        await readOnce();
      } while (again && !stopped);
    })()
      .catch((error: unknown) => {
        onError(error);
        scheduleReconnect();
      })
      .finally(() => {
        reading = undefined;
      });
  };

  const scheduleReconnect = () => {
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
    const listener = new pg.Client({ connectionString: url, application_name: 'taskhub-feed' });
    client = listener;
    listener.on('notification', read);
    listener.on('error', (error) => {
      onError(error);
      if (client === listener) scheduleReconnect();
    });
    try {
      await listener.connect();
      await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
      if (stopped) return void listener.end().catch(() => {});
      backoff = FEED_RECONNECT_MIN_MS;
      read();
    } catch (error) {
      onError(error);
      if (client === listener) scheduleReconnect();
    }
  };

  return {
    start(afterId, onEvents) {
      cursor = afterId;
      deliver = onEvents;
      stopped = false;
      connecting = connect();
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      retry = undefined;
      await connecting;
      await reading;
      const old = client;
      client = undefined;
      await old?.end().catch(() => {});
    },
  };
}
