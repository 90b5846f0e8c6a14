import { HubError, notFound } from '../domain/errors.js';
import { TRANSITIONS } from '../domain/task-status.js';
import type { Actor, Agent } from '../domain/types.js';
import type { AgentRow, AgentPatch as StoredAgentPatch, Store } from '../store/store.js';
import type { TokenClaims, TokenService } from './tokens.js';
import type { EventBus } from './event-bus.js';
import type { Presence } from './presence.js';
import type { TaskEvents } from './task-events.js';
import { presentAgent } from './present.js';

export interface AgentInput {
  name: string;
  capabilities?: string[];
  email?: string | null;
  description?: string | null;
}

export type AgentPatch = Partial<Omit<AgentInput, 'name'>>;

/** How often, at most, an agent's `lastSeen` is written while it keeps making requests (ms). */
const LAST_SEEN_WRITE_INTERVAL_MS = 5000;

interface Deps {
  store: Store;
  presence: Presence;
  tokens: TokenService;
  bus: EventBus;
  taskEvents: TaskEvents;
  now: () => number;
  /** Told about a failed `lastSeen` write (nobody waits for it). Default: ignored. */
  onBackgroundError?: (error: unknown, what: string) => void;
}

export function createAgentService({ store, presence, tokens, bus, taskEvents, now, onBackgroundError }: Deps) {
  const lastSeenWritten = new Map<string, number>();
  /** The agents as the API shows them, with their streams on every hub read in one query. */
  const present = async (viewer: Actor, rows: AgentRow[]): Promise<Agent[]> => {
    const streams = await presence.streams(rows.map((r) => r.name));
    return rows.map((row) => presentAgent(row, streams.get(row.name) ?? 0, viewer));
  };
  const presentOne = async (viewer: Actor, row: AgentRow): Promise<Agent> => (await present(viewer, [row]))[0]!;

  const requireSelfOrAdmin = (actor: Actor, name: string) => {
    if (actor.role !== 'admin' && actor.name !== name) {
      throw new HubError('forbidden', 'Only the agent itself or an admin may change an agent.');
    }
  };

  return {
    /** Resolves verified token claims to an actor, rejecting tokens of removed agents and rotated tokens. */
    async authenticate(claims: TokenClaims): Promise<Actor> {
      if (claims.role === 'admin') return { name: claims.sub, role: 'admin' };
      const version = await store.agents.tokenVersion(claims.sub);
      if (version === undefined) throw new HubError('unauthorized', 'The token names an agent that does not exist.');
      if (version !== claims.ver) throw new HubError('unauthorized', 'The token has been revoked.');
      return { name: claims.sub, role: 'agent' };
    },

    /**
     * Records that the agent was seen, writing at most once per few seconds per agent. Nobody waits for the write
     * (it commits with the changes of its turn); a failure goes to `onBackgroundError`.
     */
    touch(name: string): void {
      const at = now();
      if (at - (lastSeenWritten.get(name) ?? 0) < LAST_SEEN_WRITE_INTERVAL_MS) return;
      lastSeenWritten.set(name, at);
      store.agents.touch(name, at).catch((error: unknown) => onBackgroundError?.(error, 'lastSeen write'));
    },

    async create(actor: Actor, input: AgentInput): Promise<{ agent: Agent; token: string }> {
      const created = await store.agents.insert({
        name: input.name,
        capabilities: [...new Set(input.capabilities ?? [])],
        email: input.email ?? null,
        description: input.description ?? null,
        createdAt: now(),
      });
      if (!created) throw new HubError('conflict', `An agent named "${input.name}" already exists.`);
      return { agent: await presentOne(actor, created.row), token: tokens.signAgent(input.name, created.tokenVersion) };
    },

    async list(actor: Actor, capability?: string): Promise<Agent[]> {
      return present(actor, await store.agents.list(capability));
    },

    async get(actor: Actor, name: string): Promise<Agent> {
      const row = await store.agents.get(name);
      if (!row) throw notFound(`Agent "${name}"`);
      return presentOne(actor, row);
    },

    async update(actor: Actor, name: string, patch: AgentPatch): Promise<Agent> {
      requireSelfOrAdmin(actor, name);
      const next: StoredAgentPatch = {};
      if (patch.capabilities !== undefined) next.capabilities = [...new Set(patch.capabilities)];
      if (patch.email !== undefined) next.email = patch.email;
      if (patch.description !== undefined) next.description = patch.description;
      const row = await store.agents.update(name, next);
      if (!row) throw notFound(`Agent "${name}"`);
      return presentOne(actor, row);
    },

    /** Removes the agent: its open tasks fail with `agent_removed` in the same transaction, then its streams end. */
    async remove(name: string): Promise<void> {
      const removed = await taskEvents.run(async (change) => {
        for (const task of await change.tx.tasks.openByTarget(name)) {
          await taskEvents.transition(change, task, TRANSITIONS.abandon, {
            error: 'agent_removed',
            completedAt: now(),
            leaseExpiresAt: null,
          });
        }
        return change.tx.agents.remove(name);
      });
      if (!removed) throw notFound(`Agent "${name}"`);
      lastSeenWritten.delete(name);
      bus.signal({ type: 'agent.removed', agent: name });
    },

    /** Issues a new token; every older token of the agent stops working and its open streams end. */
    async rotateToken(name: string): Promise<string> {
      const version = await store.agents.rotateToken(name);
      if (version === undefined) throw notFound(`Agent "${name}"`);
      bus.signal({ type: 'agent.token_rotated', agent: name });
      return tokens.signAgent(name, version);
    },
  };
}

export type AgentService = ReturnType<typeof createAgentService>;
