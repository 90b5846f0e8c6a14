import type { LookupFunction } from 'node:net';
import { HubError, notFound } from '../../domain/errors.js';
import { toIso, type Actor } from '../../domain/types.js';
import type { FailedDelivery, OutboxCounts, Store, WebhookRow } from '../../store/store.js';
import { generateWebhookSecret } from './signature.js';
import { checkWebhookUrl } from './url-check.js';

/** How many failed deliveries `GET …/webhook` lists, newest first. */
export const FAILED_LISTED = 100;

/** Why the queued deliveries of a webhook that is removed fail. */
export const REMOVED_REASON = 'webhook removed';

export interface WebhookSettings {
  /** Let webhooks reach loopback and private addresses (`TASKHUB_WEBHOOK_ALLOW_PRIVATE`). Default false. */
  allowPrivate?: boolean;
  /** Resolver of the PUT check. Default `dns.lookup`. */
  lookup?: LookupFunction;
}

interface Deps {
  store: Store;
  now: () => number;
}

/** The API's view of a webhook: never its secret. */
export const presentWebhook = (row: WebhookRow) => ({ url: row.url, events: row.events, createdAt: toIso(row.createdAt) as string });

const presentFailed = (f: FailedDelivery) => ({ ...f, lastAttemptAt: toIso(f.lastAttemptAt) });

export interface WebhookView {
  webhook: ReturnType<typeof presentWebhook>;
  deliveries: OutboxCounts;
  failed: ReturnType<typeof presentFailed>[];
}

/**
 * The webhook routes' rules: only the agent itself or an admin (403 for anyone else, then 404 for an unknown agent
 * or a missing webhook), the SSRF check at PUT unless private addresses are allowed, and a new secret per PUT.
 */
export function createWebhookService({ store, now }: Deps, settings: WebhookSettings = {}) {
  const requeueListeners = new Set<() => void>();
  const requireSelfOrAdmin = async (actor: Actor, name: string) => {
    if (actor.role !== 'admin' && actor.name !== name) {
      throw new HubError('forbidden', "Only the agent itself or an admin may see or change an agent's webhook.");
    }
    if (!(await store.agents.get(name))) throw notFound(`Agent "${name}"`);
  };
  const existing = async (name: string) => {
    const row = await store.webhooks.get(name);
    if (!row) throw notFound(`A webhook of agent "${name}"`);
    return row;
  };

  return {
    /** Sets the agent's webhook with a fresh secret, shown only in this answer. */
    async put(actor: Actor, name: string, input: { url: string; events?: string[] | undefined }) {
      await requireSelfOrAdmin(actor, name);
      if (!settings.allowPrivate) await checkWebhookUrl(input.url, settings.lookup);
      const secret = generateWebhookSecret();
      const events = input.events ? [...new Set(input.events)] : null;
      const row = await store.webhooks.put({ agent: name, url: input.url, events, secret, createdAt: now() });
      return { webhook: presentWebhook(row), secret };
    },

    async get(actor: Actor, name: string): Promise<WebhookView> {
      await requireSelfOrAdmin(actor, name);
      const row = await existing(name);
      const [deliveries, failed] = await Promise.all([
        store.outbox.agentCounts(name, 'webhook'),
        store.outbox.failedOf(name, 'webhook', FAILED_LISTED),
      ]);
      return { webhook: presentWebhook(row), deliveries, failed: failed.map(presentFailed) };
    },

    /** Removes the webhook; deliveries still queued for it fail (later events go to email). */
    async remove(actor: Actor, name: string): Promise<void> {
      await requireSelfOrAdmin(actor, name);
      const removed = await store.transaction(async (tx) => {
        if (!(await tx.webhooks.remove(name))) return false;
        await tx.outbox.failQueued(name, 'webhook', REMOVED_REASON);
        return true;
      });
      if (!removed) throw notFound(`A webhook of agent "${name}"`);
    },

    /** Queues the agent's failed deliveries again, each with a fresh 24 h and backoff. */
    async retry(actor: Actor, name: string): Promise<{ requeued: number }> {
      await requireSelfOrAdmin(actor, name);
      await existing(name);
      const requeued = await store.outbox.requeueFailed(name, 'webhook', now());
      if (requeued > 0) for (const listener of requeueListeners) listener();
      return { requeued };
    },

    /** Tells `listener` whenever a retry queued deliveries again (the sender wakes); returns the unsubscribe. */
    onRequeued(listener: () => void): () => void {
      requeueListeners.add(listener);
      return () => requeueListeners.delete(listener);
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
