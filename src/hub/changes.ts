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
 * the bus only once the outermost transaction has committed (with group commit: once its batch has), so no
 * listener ever sees a change that rolled back.
 */
export function createChangeRecorder(store: Store, bus: EventBus) {
  const planners: DeliveryPlanner[] = [];
  let pending: HubEvent[] = [];
  let undos: Array<() => void> = [];
  let depth = 0;

  return {
    addPlanner(planner: DeliveryPlanner): void {
      planners.push(planner);
    },

    run<T>(change: () => T): T {
      // A nested change that throws rolls back to its savepoint: drop exactly the events it emitted and undo
      // exactly what it spent.
      const emittedBefore = pending.length;
      const undoBefore = undos.length;
      depth += 1;
      let result: T;
      try {
        result = store.transaction(change);
      } catch (error) {
        pending.length = emittedBefore;
        for (const undo of undos.splice(undoBefore).reverse()) undo();
        throw error;
      } finally {
        depth -= 1;
      }
      if (depth === 0 && (pending.length > 0 || undos.length > 0)) {
        const written = pending;
        const undoing = undos;
        pending = [];
        undos = [];
        // Under group commit the change is durable only when its batch commits: publish then, or never.
        store.afterCommit((committed) => {
          if (committed) for (const event of written) bus.publish(event);
          else for (const undo of undoing.reverse()) undo();
        });
      }
      return result;
    },

    /**
     * Registers what undoes an in-memory effect of the current change (a rate-limit unit spent) should the change
     * roll back, at once or when its group commit fails. Only valid inside `run`.
     */
    onRollback(undo: () => void): void {
      if (depth === 0) throw new Error('onRollback() outside of a change');
      undos.push(undo);
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
