import type { HubEvent } from '../domain/types.js';
import type { Store } from '../store/index.js';
import type { NewEvent } from '../store/events.js';
import type { EventBus } from './event-bus.js';

/**
 * Runs inside the transaction that records an event, for each event: the place where the hub decides how the
 * event reaches its recipients beyond the live bus (the email outbox, for one).
 */
export type DeliveryPlanner = (event: HubEvent) => void;

/**
 * Records state changes with their events. `run` executes a change in one transaction; every `emit` inside it
 * appends an event row (and whatever the planners add) in that same transaction. The events are published on
 * the bus only once the outermost transaction has committed, so no listener ever sees a change that rolled back.
 */
export function createChangeRecorder(store: Store, bus: EventBus) {
  const planners: DeliveryPlanner[] = [];
  let pending: HubEvent[] = [];
  let depth = 0;

  return {
    addPlanner(planner: DeliveryPlanner): void {
      planners.push(planner);
    },

    run<T>(change: () => T): T {
      // A nested change that throws rolls back to its savepoint: drop exactly the events it emitted.
      const emittedBefore = pending.length;
      depth += 1;
      let result: T;
      try {
        result = store.transaction(change);
      } catch (error) {
        pending.length = emittedBefore;
        throw error;
      } finally {
        depth -= 1;
      }
      if (depth === 0) {
        const committed = pending;
        pending = [];
        for (const event of committed) bus.publish(event);
      }
      return result;
    },

    /** Appends an event; only valid inside `run`. */
    emit(event: NewEvent): HubEvent {
      if (depth === 0) throw new Error('emit() outside of a change');
      const stored = store.events.append(event);
      for (const plan of planners) plan(stored);
      pending.push(stored);
      return stored;
    },
  };
}

export type ChangeRecorder = ReturnType<typeof createChangeRecorder>;
