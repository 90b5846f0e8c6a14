import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Releasers } from '../releasers.js';
import { createWebhookPoster } from '../transport/webhook/post.js';
import { createWebhookSender } from '../transport/webhook/sender.js';
import { TASKHUB_VERSION } from '../version.js';
import type { Core } from './core.js';

/**
 * The webhook sender: POSTs the webhook channel of the outbox (the delivery planner, registered with the email
 * fallback, decides which channel each event takes).
 */
export function startWebhooks(
  config: Config,
  { hub, store, metrics }: Core,
  logger: Logger,
  releasers: Releasers,
): void {
  const { webhooks: settings } = config;
  const poster = createWebhookPoster({
    allowPrivate: settings.allowPrivate,
    timeoutMs: settings.timeoutMs,
    maxSockets: settings.concurrency,
  });
  const sender = createWebhookSender(
    {
      store,
      onQueued: (listener) => hub.changes.onQueued('webhook', listener),
      poster,
      logger: logger.child({ part: 'webhooks' }),
      version: TASKHUB_VERSION,
      onRequeued: (listener) => hub.webhooks.onRequeued(listener),
      onOutcome: metrics.webhookDelivered,
    },
    { ...settings, now: hub.now, ...(store.feed && { pollMs: config.outboxPollMs }) },
  );
  sender.start();
  releasers.add(() => sender.stop());
}
