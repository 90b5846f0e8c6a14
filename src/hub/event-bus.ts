import type { HubEvent } from '../domain/types.js';

export type EventListener = (event: HubEvent) => void;
/** Why an agent's open streams must end: it was removed, or its token was rotated. */
export type AgentSignal = { type: 'agent.removed' | 'agent.token_rotated'; agent: string };
export type AgentSignalListener = (signal: AgentSignal) => void;

/**
 * The in-process bus between the hub and its transports. Events are published only after the transaction that
 * wrote them has committed, in id order. Listeners run synchronously and must not throw.
 */
export function createEventBus() {
  const eventListeners = new Set<EventListener>();
  const signalListeners = new Set<AgentSignalListener>();
  return {
    /** Subscribes to committed events; returns the function that unsubscribes. */
    subscribe(listener: EventListener): () => void {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    /** How many listen to committed events now (what a test checks to see a watch end). */
    listenerCount(): number {
      return eventListeners.size;
    },
    publish(event: HubEvent): void {
      for (const listener of eventListeners) listener(event);
    },
    onAgentSignal(listener: AgentSignalListener): () => void {
      signalListeners.add(listener);
      return () => signalListeners.delete(listener);
    },
    signal(signal: AgentSignal): void {
      for (const listener of signalListeners) listener(signal);
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
