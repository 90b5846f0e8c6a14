/**
 * Which agents hold open streams right now. The stream transport reports opens and closes; the hub reads it to
 * route by capability and to decide between pushing an event and mailing it.
 */
export function createPresence() {
  const streams = new Map<string, number>();
  return {
    opened(agent: string): void {
      streams.set(agent, (streams.get(agent) ?? 0) + 1);
    },
    closed(agent: string): void {
      const left = (streams.get(agent) ?? 0) - 1;
      if (left > 0) streams.set(agent, left);
      else streams.delete(agent);
    },
    isConnected(agent: string): boolean {
      return streams.has(agent);
    },
    streamCount(agent: string): number {
      return streams.get(agent) ?? 0;
    },
    /** Number of distinct agents with at least one stream. */
    connectedAgents(): number {
      return streams.size;
    },
  };
}

export type Presence = ReturnType<typeof createPresence>;
