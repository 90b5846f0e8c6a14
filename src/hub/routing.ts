import type { RoutingCandidate } from '../store/store.js';

/**
 * Chooses who gets a task addressed to a capability: connected agents first, then the one with fewest open
 * tasks, then the one assigned least recently (never assigned counts as longest ago), then by name so that
 * the choice is deterministic.
 */
export function pickAgent(candidates: readonly RoutingCandidate[], isConnected: (name: string) => boolean): string | undefined {
  let best: RoutingCandidate | undefined;
  let bestConnected = false;
  for (const candidate of candidates) {
    const connected = isConnected(candidate.name);
    if (!best || compare(candidate, connected, best, bestConnected) < 0) {
      best = candidate;
      bestConnected = connected;
    }
  }
  return best?.name;
}

function compare(a: RoutingCandidate, aConnected: boolean, b: RoutingCandidate, bConnected: boolean): number {
  if (aConnected !== bConnected) return aConnected ? -1 : 1;
  if (a.openTasks !== b.openTasks) return a.openTasks - b.openTasks;
  const aAt = a.lastAssignedAt ?? -Infinity;
  const bAt = b.lastAssignedAt ?? -Infinity;
  if (aAt !== bAt) return aAt < bAt ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
