import net from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import { parseConnectionUrl } from 'nodemailer/lib/shared/index.js';
import type { Logger } from 'pino';
import type { OutboxItem, OutboxTable } from '../../store/store.js';
import type { Composer } from './compose.js';

export interface OutboxSenderOptions {
  /** Age of a mail (ms since its event was queued) after which a failed send marks it failed. Default 24 h. */
  maxAgeMs?: number;
  /** Delay before the first retry, ms; it doubles with every failed send. Default 1000. */
  retryBaseMs?: number;
  /** Longest delay between retries, ms. Default 300000 (5 minutes). */
  retryMaxMs?: number;
  /** How long a claimed row stays hidden, ms: a sender that dies mid-send leaves it for then. Default 300000. */
  claimMs?: number;
  /** How long `stop()` keeps sending due mail and waits for a send in flight, ms. Default 5000. */
  flushMs?: number;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * On a store other hubs share, how often to look for due rows this hub did not queue, ms: those of a hub that
   * died before sending them, or whose claim expired. Unset: only this hub's own rows and retries wake the sender.
   */
  pollMs?: number;
}

interface Deps {
  outbox: OutboxTable;
  /** Subscribes to "this hub committed mail rows" (the delivery planner's); returns the unsubscribe. */
  onQueued: (listener: () => void) => () => void;
  transport: Pick<Transporter, 'sendMail' | 'close'>;
  composer: Composer;
  logger: Logger;
  /** Told each send's outcome: `sent`, `retried` (failed, tried again later), `failed` (for good). For metrics. */
  onOutcome?: (outcome: MailOutcome) => void;
}

export type MailOutcome = 'sent' | 'retried' | 'failed';

/** SMTP client timeouts (ms): a dead or stalled server fails the send instead of holding the outbox. */
export const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 60_000 } as const;

/**
 * One pooled connection, reused for consecutive mails (up to 100 each) instead of a connection, greeting and EHLO
 * per mail; `close()` ends it.
 */
const POOL = { pool: true, maxConnections: 1, maxMessages: 100 } as const;

type SocketCallback = (error: Error | null, socket?: { connection: net.Socket }) => void;

/**
 * Opens the TCP connection for nodemailer with Nagle's algorithm off. nodemailer writes a mail's end marker as a
 * small packet of its own; with Nagle on, it waits for the server's delayed ACK, about 40 ms per mail. The socket is
 * handed over while still connecting: nodemailer's own handlers then see a refused or stalled connection (its
 * greeting timeout) exactly as with a socket it opened itself, and do the SMTP and any TLS on top. (Calling back
 * with an error instead would leave nodemailer's pool waiting on the failed connection forever.)
 */
function connectWithoutDelay(options: { host?: string; port?: number; secure?: boolean }, callback: SocketCallback) {
  const socket = net.connect({
    host: options.host ?? 'localhost',
    port: options.port ?? (options.secure ? 465 : 587),
    noDelay: true,
  });
  callback(null, { connection: socket });
}

/** A nodemailer transport to `TASKHUB_SMTP_URL`, or to the embedded listener at `host:port` when there is none. */
export function createMailTransport(target: { url: string } | { host: string; port: number }): Transporter {
  const common = { ...POOL, ...SMTP_TIMEOUTS, getSocket: connectWithoutDelay };
  // Parsed here: given `{url}`, nodemailer would read the URL alone and drop every other option.
  if ('url' in target) return nodemailer.createTransport({ ...parseConnectionUrl(target.url), ...common });
  // The embedded listener speaks plain SMTP on a local port; there is nothing to upgrade to TLS.
  return nodemailer.createTransport({ host: target.host, port: target.port, secure: false, ignoreTLS: true, ...common });
}

/** Delay after the `attempts`-th failed send: `base`, doubling each time, at most `max` (all ms). */
export function retryDelayMs(attempts: number, base: number, max: number): number {
  return Math.min(base * 2 ** Math.max(0, attempts - 1), max);
}

/** A failure of the server or the connection rather than of this one mail: wait before trying any other. */
function isServerWide(error: unknown): boolean {
  const code = (error as { responseCode?: unknown }).responseCode;
  return typeof code !== 'number' || code === 421;
}

/** A permanent refusal (5xx, say `552` for a mail too big): sending the same mail again cannot succeed. */
function isPermanent(error: unknown): boolean {
  const { responseCode: code, code: kind } = error as { responseCode?: unknown; code?: unknown };
  // Refused credentials (530, 535) are the hub's configuration, not this mail's: those are retried once fixed.
  return typeof code === 'number' && code >= 500 && code < 600 && code !== 530 && kind !== 'EAUTH';
}

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 1000);

/**
 * Drains the outbox through nodemailer, one mail at a time. It wakes when this hub committed mail rows, otherwise
 * sleeps until the next row is due (and, on a shared store, looks every `pollMs` for rows other hubs left). A failed send is retried with backoff until the
 * mail is `maxAgeMs` old, then marked failed. A connection-level failure pauses the whole outbox until that row's
 * retry, so an SMTP outage costs one attempt per backoff step rather than one per queued mail. Owns one timer and
 * one immediate; `stop()` clears them after flushing what it can within `flushMs`. A permanent refusal (5xx) marks the
 * mail failed at once: the same mail would be refused again.
 */
export function createOutboxSender(deps: Deps, options: OutboxSenderOptions = {}) {
  const { outbox, transport, composer, logger } = deps;
  const counted = (outcome: MailOutcome) => deps.onOutcome?.(outcome);
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 24 * 3600 * 1000;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const retryMaxMs = options.retryMaxMs ?? 5 * 60 * 1000;
  const claimMs = options.claimMs ?? 5 * 60 * 1000;
  const flushMs = options.flushMs ?? 5000;

  let timer: NodeJS.Timeout | undefined;
  let poller: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let running: Promise<void> | undefined;
  let wakeAgain = false;
  let pausedUntil = 0;
  let flushUntil = Infinity;
  let stopped = false;
  let unsubscribe: (() => void) | undefined;
  let stopping: Promise<void> | undefined;

  const mayContinue = () => !stopped && now() < flushUntil && now() >= pausedUntil;

  const settleFailure = async (item: OutboxItem, error: unknown) => {
    const reason = reasonOf(error);
    const at = now();
    if (isPermanent(error) || at - item.createdAt >= maxAgeMs) {
      await outbox.markFailed(item.id, reason);
      counted('failed');
      logger.warn({ outboxId: item.id, agent: item.agent, attempts: item.attempts, err: reason }, 'mail failed for good');
      return;
    }
    const retryAt = Math.min(at + retryDelayMs(item.attempts, retryBaseMs, retryMaxMs), item.createdAt + maxAgeMs);
    await outbox.retryAt(item.id, retryAt, reason);
    if (isServerWide(error)) pausedUntil = retryAt;
    counted('retried');
    logger.info({ outboxId: item.id, agent: item.agent, attempts: item.attempts, retryInMs: retryAt - at, err: reason }, 'mail send failed');
  };

  const sendOne = async (item: OutboxItem) => {
    let mail: ReturnType<Composer['compose']>;
    try {
      mail = composer.compose({ agent: item.agent, email: item.address, event: item.event });
    } catch (error) {
      // An event the composer cannot read will not read better later; it must not pause the outbox either.
      await outbox.markFailed(item.id, `cannot compose: ${reasonOf(error)}`);
      counted('failed');
      logger.error({ outboxId: item.id, eventId: item.event.id, err: error }, 'mail cannot be composed');
      return;
    }
    let error: unknown;
    try {
      await transport.sendMail(mail);
    } catch (caught) {
      error = caught ?? new Error('send failed');
    }
    // Past the flush deadline the store may be closed: the claim then expires and the mail is sent on next start.
    if (stopped) return;
    if (error !== undefined) return settleFailure(item, error);
    await outbox.markSent(item.id, now());
    counted('sent');
    logger.info({ outboxId: item.id, agent: item.agent, eventId: item.event.id, type: item.event.type, attempts: item.attempts }, 'mail sent');
  };

  const scheduleNext = async () => {
    if (stopped || stopping) return;
    const due = await outbox.nextDueAt();
    if (due === undefined || stopped || stopping) return;
    // A floor of a few ms keeps a clock step or another process's claim from turning this into a busy loop.
    const delay = Math.max(5, Math.max(due, pausedUntil) - now());
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      // Not through wake(): a timer may fire a millisecond before the pause it waited for has ended.
      if (running) wakeAgain = true;
      else if (!stopped && !stopping) run();
    }, Math.min(delay, 2 ** 31 - 1));
  };

  const drain = async () => {
    do {
      wakeAgain = false;
      while (mayContinue()) {
        // A read first: most events queue no mail, and the claim is a write.
        const due = await outbox.nextDueAt();
        if (due === undefined || due > now() || !mayContinue()) break;
        const item = await outbox.claimDue(now(), now() + claimMs);
        if (!item) break;
        await sendOne(item);
      }
    } while (wakeAgain && mayContinue());
  };

  const run = () => {
    clearTimeout(timer);
    timer = undefined;
    running = drain()
      .catch((error: unknown) => logger.error({ err: error }, 'outbox sender failed; retrying at the next wake'))
      .finally(() => {
        running = undefined;
        scheduleNext().catch((error: unknown) => logger.error({ err: error }, 'outbox sender could not schedule'));
      });
  };

  /** Coalesces a burst of events into one pass over the outbox on the next turn of the event loop. */
  function wake(): void {
    if (stopped || stopping) return;
    if (running) {
      wakeAgain = true;
      return;
    }
    if (immediate || now() < pausedUntil) return;
    immediate = setImmediate(() => {
      immediate = undefined;
      if (!running && !stopped) run();
    });
  }

  return {
    /** Starts sending, beginning with whatever a previous run left queued. */
    start(): void {
      if (unsubscribe || stopped) return;
      unsubscribe = deps.onQueued(() => wake());
      if (options.pollMs !== undefined) poller = setInterval(() => wake(), options.pollMs);
      wake();
    },

    /** Sends what is due within `flushMs`, then stops; mail still queued stays for the next start. Idempotent. */
    stop(): Promise<void> {
      return (stopping ??= (async () => {
        unsubscribe?.();
        clearInterval(poller);
        clearTimeout(timer);
        clearImmediate(immediate);
        timer = undefined;
        immediate = undefined;
        flushUntil = now() + flushMs;
        if (!running && mayContinue()) run();
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([running, new Promise<void>((resolve) => (bound = setTimeout(resolve, flushMs)))]);
        clearTimeout(bound);
        stopped = true;
        clearTimeout(timer);
        transport.close();
      })());
    },
  };
}

export type OutboxSender = ReturnType<typeof createOutboxSender>;
