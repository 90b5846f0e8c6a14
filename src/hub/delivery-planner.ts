import type { HubEvent } from '../domain/types.js';
import type { StoreTx } from '../store/store.js';
import type { DeliveryPlanner } from './changes.js';
import type { Presence } from './presence.js';

interface Deps {
  presence: Pick<Presence, 'isConnected'>;
  now: () => number;
}

/**
 * Decides stream, webhook or email for each event: a recipient with no open stream and a webhook gets a webhook
 * delivery when the webhook's `events` include the type (and no mail either way); one with no webhook and a
 * registered email gets mail. Both are outbox rows of their channel. Registered with `hub.changes.addPlanner`, it
 * runs inside the event's own transaction, so the row commits (or rolls back) with the event. A recipient that
 * connects after this decision also gets the event by replay; mail or webhook and stream may then both carry it,
 * which is safer than neither.
 */
export function createDeliveryPlanner({ presence, now }: Deps): DeliveryPlanner {
  return async (event: HubEvent, tx: StoreTx) => {
    for (const agent of event.recipients) {
      if (presence.isConnected(agent)) continue;
      const webhook = await tx.webhooks.get(agent);
      if (webhook) {
        if (webhook.events === null || webhook.events.includes(event.type)) {
          await tx.outbox.enqueue(event.id, agent, webhook.url, now(), 'webhook');
        }
        continue;
      }
      const email = await tx.agents.emailOf(agent);
      if (email) await tx.outbox.enqueue(event.id, agent, email, now());
    }
  };
}
