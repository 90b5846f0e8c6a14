import type { HubEvent } from '../domain/types.js';
import type { StoreTx } from '../store/store.js';
import type { DeliveryPlanner } from './changes.js';
import type { Presence } from './presence.js';

interface Deps {
  presence: Pick<Presence, 'isLocal' | 'streams'>;
  now: () => number;
}

/**
 * Decides stream or email for each event: a recipient with no open stream and a registered email gets an outbox
 * row. Registered with `hub.changes.addPlanner`, it runs inside the event's own transaction, so the row commits
 * (or rolls back) with the event. A recipient that connects after this decision also gets the event by replay;
 * mail and stream may then both carry it, which is safer than neither.
 *
 * Presence counts the streams on every hub, read through the event's own `tx`. The read comes last: a recipient
 * streaming on this hub needs none, and one without an email needs none either, so the hot path of agents that
 * stream (or have no mail) costs no read beyond the email it always made.
 */
export function createMailPlanner({ presence, now }: Deps): DeliveryPlanner {
  return async (event: HubEvent, tx: StoreTx) => {
    for (const agent of event.recipients) {
      if (presence.isLocal(agent)) continue;
      const email = await tx.agents.emailOf(agent);
      if (!email) continue;
      if ((await presence.streams([agent], tx)).has(agent)) continue;
      await tx.outbox.enqueue(event.id, agent, email, now());
    }
  };
}
