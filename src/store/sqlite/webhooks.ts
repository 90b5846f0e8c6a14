import type { WebhookRow, WebhookTable } from '../store.js';
import { webhookFromRaw as rowOf, type RawWebhook } from '../rows.js';
import type { Db } from './db.js';
import type { SyncTable } from './sync.js';

/** Agents' webhooks: one row per agent, replaced by each PUT. */
export function createWebhookTable(db: Db): SyncTable<WebhookTable> {
  const q = {
    get: db.prepare<[string], RawWebhook>('SELECT agent, url, events, secret, created_at FROM webhooks WHERE agent = ?'),
    put: db.prepare<[string, string, string | null, string, number], RawWebhook>(
      `INSERT INTO webhooks (agent, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (agent) DO UPDATE SET url = excluded.url, events = excluded.events, secret = excluded.secret
       RETURNING agent, url, events, secret, created_at`,
    ),
    remove: db.prepare<[string]>('DELETE FROM webhooks WHERE agent = ?'),
    removeIf: db.prepare<[string, string]>('DELETE FROM webhooks WHERE agent = ? AND secret = ?'),
  };
  const ops = {
    get(agent: string): WebhookRow | undefined {
      const raw = q.get.get(agent);
      return raw && rowOf(raw);
    },
    put(webhook: WebhookRow): WebhookRow {
      const events = webhook.events === null ? null : JSON.stringify(webhook.events);
      return rowOf(q.put.get(webhook.agent, webhook.url, events, webhook.secret, webhook.createdAt) as RawWebhook);
    },
    remove(agent: string, secret?: string): boolean {
      return (secret === undefined ? q.remove.run(agent) : q.removeIf.run(agent, secret)).changes > 0;
    },
  };
  return { ops, writes: ['put', 'remove'] };
}
