import type { HubEvent } from '../domain/types.js';
import type { NewEvent, OutboxChannel, Store, StoreTx } from '../store/store.js';
import type { EventBus } from './event-bus.js';

/**
 * Runs inside the transaction that records an event, for each event: the place where the hub decides how the
 * event reaches its recipients beyond the live bus (the email outbox, for one). It writes through `tx` only, and
 * answers the outbox channels it queued rows on (their senders are woken once the change commits).
 */
export type DeliveryPlanner = (event: HubEvent, tx: StoreTx) => Promise<readonly OutboxChannel[]>;

/** One change in progress: its transaction and the events it has emitted so far. */
export interface Change {
  /** The change's transaction: every read and write of the change goes through it. */
  readonly tx: StoreTx;
  /** Appends an event (and whatever the planners add) in this change; it is published once the change commits. */
  emit(event: NewEvent): Promise<HubEvent>;
}

/**
 * Records state changes with their events. `run` executes a change in one transaction, handing it a `Change`
 * that carries its own events, so concurrent changes never share any. The events are published on the bus only
 * once the transaction has committed (under SQLite's group commit: once its batch has), in the order they were
 * written, so no listener ever sees a change that rolled back.
 */
export function createChangeRecorder(store: Store, bus: EventBus) {
  const planners: DeliveryPlanner[] = [];
  const queuedListeners = new Map<OutboxChannel, Set<() => void>>();

  return {
    addPlanner(planner: DeliveryPlanner): void {
      planners.push(planner);
    },

    /**
     * Calls `listener` after each change of this hub that committed outbox rows of `channel` (what wakes that
     * channel's sender); returns the unsubscribe.
     */
    onQueued(channel: OutboxChannel, listener: () => void): () => void {
      let listeners = queuedListeners.get(channel);
      if (!listeners) queuedListeners.set(channel, (listeners = new Set()));
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },

    async run<T>(change: (c: Change) => Promise<T>): Promise<T> {
      // A store may run `change` again (the PostgreSQL group commit's one-by-one rerun): the last run's recording
      // is the one that committed.
      let recording: RecordingChange | undefined;
      const result = await store.transaction((tx) => change((recording = new RecordingChange(tx, planners))));
      // A batch's transactions resolve in the order they ran, each continuing here in that order: events reach
      // the bus in id order. A shared store's feed publishes instead (every hub's events, in id order).
      if (!store.feed) for (const event of recording!.events) bus.publish(event);
      for (const channel of recording!.queued) for (const listener of queuedListeners.get(channel) ?? []) listener();
      return result;
    },
  };
}

/** A change in progress and the events it has written (a class: no closures made per change). */
class RecordingChange implements Change {
  readonly events: HubEvent[] = [];
  readonly queued = new Set<OutboxChannel>();

  constructor(
    readonly tx: StoreTx,
    private readonly planners: readonly DeliveryPlanner[],
  ) {}

  async emit(event: NewEvent): Promise<HubEvent> {
    const stored = await this.tx.events.append(event);
    for (const plan of this.planners) for (const channel of await plan(stored, this.tx)) this.queued.add(channel);
    this.events.push(stored);
    return stored;
  }
}

export type ChangeRecorder = ReturnType<typeof createChangeRecorder>;
