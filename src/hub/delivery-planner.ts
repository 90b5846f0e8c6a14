import type { HubEvent } from '../domain/types.js';
import type { OutboxChannel, StoreTx } from '../store/store.js';
import type { DeliveryPlanner } from './changes.js';
import type { Presence } from './presence.js';

interface Deps {
  presence: Pick<Presence, 'isLocal' | 'streams'>;
  now: () => number;
}

/**
 * Decides stream, webhook or email for each event: a recipient with no open stream (on any hub) and a webhook gets
 * a webhook delivery when the webhook's `events` include the type, and no mail either way; one with no webhook and
 * a registered email gets mail. Both are outbox rows of their channel. Registered with `hub.changes.addPlanner`, it
 * runs inside the event's own transaction, so the row commits (or rolls back) with the event. A recipient that
 * connects after this decision also gets the event by replay; webhook or mail and stream may then both carry it,
 * which is safer than neither.
 *
 * Presence counts the streams on every hub, read through the event's own `tx`. The read comes last: a recipient
 * streaming on this hub needs none, and one with nowhere to send to needs none either, so the hot path of agents
 * that stream (or have no webhook and no mail) costs no read beyond those of where to send.
 */
export function createDeliveryPlanner({ presence, now }: Deps): DeliveryPlanner {
  return async (event: HubEvent, tx: StoreTx) => {
    const queued: OutboxChannel[] = [];
    for (const agent of event.recipients) {
      if (presence.isLocal(agent)) continue;
      const target = await deliveryTarget(tx, agent, event.type);
      if (!target) continue;
      if ((await presence.streams([agent], tx)).has(agent)) continue;
      await tx.outbox.enqueue(event.id, agent, target.address, now(), target.channel);
      queued.push(target.channel);
    }
    return queued;
  };
}

/** Where an offline agent gets this event: its webhook (if it wants the type), else its email; none at all. */
async function deliveryTarget(tx: StoreTx, agent: string, type: string) {
  const contact = await tx.agents.contactOf(agent);
  const webhook = contact?.webhook;
  if (webhook) {
    const wanted = webhook.events === null || webhook.events.includes(type);
    return wanted ? { channel: 'webhook' as const, address: webhook.url } : undefined;
  }
  return contact?.email ? { channel: 'email' as const, address: contact.email } : undefined;
}
