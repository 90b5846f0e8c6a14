import type { Logger } from 'pino';
import { webhookHeaders } from '../../hub/webhooks/signature.js';
import type { OutboxItem, Store, WebhookRow } from '../../store/store.js';
import { eventJson } from '../sse/frames.js';
import { webhookRetryDelayMs } from './backoff.js';
import type { PostOutcome, WebhookPoster } from './post.js';

/** Deliveries in flight at once (per hub) unless told otherwise: enough to keep one receiver's sockets busy. */
export const DEFAULT_WEBHOOK_CONCURRENCY = 64;

export interface WebhookSenderOptions {
  /** Deliveries in flight at once; also how many rows one claim takes. Default `DEFAULT_WEBHOOK_CONCURRENCY`. */
  concurrency?: number;
  /** Age (ms since queueing) after which a failed delivery is marked failed. Default 24 h. */
  maxAgeMs?: number;
  /** Delay before the first retry, ms; it doubles with each failure. Default 1000. */
  retryBaseMs?: number;
  /** Longest delay between retries, ms. Default 300000 (5 minutes). */
  retryMaxMs?: number;
  /** How long a claimed row stays hidden, ms: a hub that dies mid-delivery leaves it to another then. Default 60000. */
  claimMs?: number;
  /** How long `stop()` lets deliveries in flight finish before cutting them, ms. Default 2000. */
  flushMs?: number;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * On a store other hubs share, how often to look for due rows this hub did not queue, ms: those of a hub that
   * died before sending them, or whose claim expired. Unset: only this hub's own rows and retries wake the sender.
   */
  pollMs?: number;
}

/** What became of one delivery attempt, for metrics: `gone` is a 410 that removed the webhook. */
export type WebhookOutcome = 'sent' | 'retried' | 'failed' | 'gone';

interface Deps {
  store: Pick<Store, 'outbox' | 'webhooks' | 'transaction'>;
  /** Subscribes to "this hub committed webhook rows" (the delivery planner's); returns the unsubscribe. */
  onQueued: (listener: () => void) => () => void;
  poster: WebhookPoster;
  logger: Logger;
  /** `User-Agent: taskhub/<version>`. */
  version: string;
  /** Subscribes to "failed deliveries were queued again" (the retry route); returns the unsubscribe. */
  onRequeued?: (listener: () => void) => () => void;
  onOutcome?: (outcome: WebhookOutcome) => void;
}

/** Why a delivery whose webhook is gone fails. */
const NO_WEBHOOK = 'webhook removed';

/**
 * Drains the webhook channel of the outbox: claims up to `concurrency` due rows in one statement and POSTs them
 * concurrently, never more than `concurrency` in flight. It wakes when this hub committed deliveries, when a retry
 * requeued some, on a timer for the next due row, and on a shared store every `pollMs` for rows other hubs left;
 * otherwise it sleeps. Owns one timer, one immediate and the poster's sockets; `stop()` lets
 * deliveries in flight finish within `flushMs`, then cuts them and hands their rows back (sent again, with the
 * same webhook-id, at the next start or by another hub; a hub that dies instead leaves them until the claim expires).
 */
export function createWebhookSender(deps: Deps, options: WebhookSenderOptions = {}) {
  const { store, poster, logger } = deps;
  const now = options.now ?? Date.now;
  const concurrency = options.concurrency ?? DEFAULT_WEBHOOK_CONCURRENCY;
  const maxAgeMs = options.maxAgeMs ?? 24 * 3600 * 1000;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const retryMaxMs = options.retryMaxMs ?? 5 * 60 * 1000;
  const claimMs = options.claimMs ?? 60_000;
  const flushMs = options.flushMs ?? 2000;
  const counted = (outcome: WebhookOutcome) => deps.onOutcome?.(outcome);
  // Claims wait until half the slots are free, so that a busy queue is taken in batches of about half the limit
  // rather than a row per finished delivery (each claim is a write); an idle sender claims at once.
  const refillAt = Math.max(0, Math.floor(concurrency / 2));

  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let passing: Promise<void> | undefined;
  let wakeAgain = false;
  let stopped = false;
  let stopping: Promise<void> | undefined;
  const unsubscribers: Array<() => void> = [];
  const deliveries = new Set<Promise<void>>();

  const settleFailure = async (item: OutboxItem, reason: string) => {
    const at = now();
    if (at - item.createdAt >= maxAgeMs) {
      await store.outbox.markFailed(item.id, reason);
      counted('failed');
      logger.warn({ eventId: item.event.id, agent: item.agent, attempts: item.attempts, reason }, 'webhook delivery failed for good');
      return;
    }
    const retryAt = Math.min(at + webhookRetryDelayMs(item.attempts, retryBaseMs, retryMaxMs), item.createdAt + maxAgeMs);
    await store.outbox.retryAt(item.id, retryAt, reason);
    counted('retried');
    logger.info({ eventId: item.event.id, agent: item.agent, attempts: item.attempts, retryInMs: retryAt - at, reason }, 'webhook delivery failed; retrying');
    arm(retryAt);
  };

  /** 410: the receiver wants no more. The webhook goes (unless replaced meanwhile), and what was queued for it fails. */
  const settleGone = async (item: OutboxItem, webhook: WebhookRow) => {
    const reason = 'HTTP 410 Gone: webhook removed';
    const removed = await store.transaction(async (tx) => {
      await tx.outbox.markFailed(item.id, reason);
      if (!(await tx.webhooks.remove(item.agent, webhook.secret))) return false;
      await tx.outbox.failQueued(item.agent, 'webhook', reason);
      return true;
    });
    counted('gone');
    logger.warn({ eventId: item.event.id, agent: item.agent, url: webhook.url, removed }, 'webhook answered 410 Gone; removed');
  };

  const settle = async (item: OutboxItem, webhook: WebhookRow, outcome: PostOutcome) => {
    // Cut by stop(): the store is still open (stop waits for this), so the row is handed back at once rather than
    // left hidden until its claim expires. It is sent again, with the same webhook-id, by whichever hub runs next.
    if (stopped) return store.outbox.retryAt(item.id, now(), 'the hub stopped mid-delivery');
    if (outcome.kind === 'retry') return settleFailure(item, outcome.reason);
    if (outcome.kind === 'gone') return settleGone(item, webhook);
    await store.outbox.markSent(item.id, now());
    counted('sent');
  };

  const deliver = async (item: OutboxItem, webhook: WebhookRow | undefined) => {
    if (!webhook) {
      await store.outbox.markFailed(item.id, NO_WEBHOOK);
      counted('failed');
      logger.warn({ eventId: item.event.id, agent: item.agent }, 'webhook delivery failed: the agent has no webhook any more');
      return;
    }
    const body = eventJson(item.event);
    const headers = webhookHeaders(webhook.secret, item.event.id, body, deps.version, now());
    await settle(item, webhook, await poster.post(new URL(webhook.url), headers, body));
  };

  const start = (item: OutboxItem, webhook: WebhookRow | undefined) => {
    const delivery = deliver(item, webhook)
      .catch((error: unknown) => logger.error({ err: error, eventId: item.event.id }, 'webhook delivery could not be settled; its claim will expire'))
      .finally(() => {
        deliveries.delete(delivery);
        wake();
      });
    deliveries.add(delivery);
  };

  /** The webhooks of a batch's agents, one read per agent. */
  const webhooksOf = async (items: OutboxItem[]) => {
    const agents = [...new Set(items.map((i) => i.agent))];
    const rows = await Promise.all(agents.map((a) => store.webhooks.get(a)));
    return new Map(agents.map((a, i) => [a, rows[i]]));
  };

  const pass = async () => {
    do {
      wakeAgain = false;
      while (!stopped && !stopping && deliveries.size <= refillAt && deliveries.size < concurrency) {
        // A read first: most events queue no delivery, and the claim is a write.
        const due = await store.outbox.nextDueAt('webhook');
        if (due === undefined) break;
        if (due > now()) {
          arm(due);
          break;
        }
        const room = concurrency - deliveries.size;
        const items = await store.outbox.claimMany('webhook', now(), now() + claimMs, room);
        if (items.length === 0 || stopped) break;
        const webhooks = await webhooksOf(items);
        for (const item of items) start(item, webhooks.get(item.agent));
        if (items.length < room) break;
      }
    } while (wakeAgain && !stopped && !stopping);
  };

  /** Sets the timer for `at` unless it is set for sooner. */
  let armedFor = Infinity;
  function arm(at: number): void {
    if (stopped || stopping || at >= armedFor) return;
    clearTimeout(timer);
    armedFor = at;
    // A floor of a few ms keeps a clock step or another hub's claim from turning this into a busy loop.
    timer = setTimeout(() => {
      timer = undefined;
      armedFor = Infinity;
      wake();
    }, Math.min(Math.max(5, at - now()), 2 ** 31 - 1));
  }

  /** Coalesces a burst of wakes into one pass on the next turn of the event loop. */
  function wake(): void {
    if (stopped || stopping) return;
    if (passing) {
      wakeAgain = true;
      return;
    }
    if (immediate) return;
    immediate = setImmediate(() => {
      immediate = undefined;
      if (passing || stopped) return;
      passing = pass()
        .catch((error: unknown) => {
          // The store unreachable, say: look again after the first retry delay even if nothing wakes the sender.
          logger.error({ err: error }, 'webhook sender failed; trying again shortly');
          arm(now() + retryBaseMs);
        })
        .finally(() => {
          passing = undefined;
          // A row that became due while the pass ran (a claim of a dead hub expiring, say) is found by the timer.
          if (wakeAgain) wake();
        });
    });
  }

  return {
    /** Starts delivering, beginning with whatever a previous run left queued. */
    start(): void {
      if (unsubscribers.length > 0 || stopped || stopping) return;
      unsubscribers.push(deps.onQueued(() => wake()));
      if (options.pollMs !== undefined) {
        const poller = setInterval(() => wake(), options.pollMs);
        unsubscribers.push(() => clearInterval(poller));
      }
      if (deps.onRequeued) unsubscribers.push(deps.onRequeued(() => wake()));
      wake();
    },

    /** Deliveries in flight now. */
    inFlight: (): number => deliveries.size,

    /** Lets deliveries in flight finish within `flushMs`, cuts the rest, closes the sockets. Idempotent. */
    stop(): Promise<void> {
      return (stopping ??= (async () => {
        for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
        clearTimeout(timer);
        clearImmediate(immediate);
        timer = immediate = undefined;
        await passing;
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([Promise.allSettled([...deliveries]), new Promise<void>((resolve) => (bound = setTimeout(resolve, flushMs)))]);
        clearTimeout(bound);
        stopped = true;
        poster.close();
        await Promise.allSettled([...deliveries]);
      })());
    },
  };
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;
