import type { WebhookTable } from '../store.js';
import { webhookFromRaw as rowOf, type RawWebhook } from '../rows.js';
import type { Session } from './session.js';

const COLUMNS = 'agent, url, events, secret, created_at';

/** Agents' webhooks on `s`: one row per agent, replaced by each PUT. */
export function createWebhookTable(s: Session): WebhookTable {
  return {
    async get(agent) {
      const [raw] = await s.rows<RawWebhook>(`SELECT ${COLUMNS} FROM webhooks WHERE agent = $1`, [agent]);
      return raw && rowOf(raw);
    },
    async put(webhook) {
      const events = webhook.events === null ? null : JSON.stringify(webhook.events);
      const [raw] = await s.rows<RawWebhook>(
        `INSERT INTO webhooks (${COLUMNS}) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (agent) DO UPDATE SET url = excluded.url, events = excluded.events, secret = excluded.secret
         RETURNING ${COLUMNS}`,
        [webhook.agent, webhook.url, events, webhook.secret, webhook.createdAt],
      );
      return rowOf(raw!);
    },
    async remove(agent, secret) {
      const removed =
        secret === undefined
          ? await s.count('DELETE FROM webhooks WHERE agent = $1', [agent])
          : await s.count('DELETE FROM webhooks WHERE agent = $1 AND secret = $2', [agent, secret]);
      return removed > 0;
    },
  } satisfies WebhookTable;
}
