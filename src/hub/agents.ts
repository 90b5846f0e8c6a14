import { HubError, notFound } from '../domain/errors.js';
import { TRANSITIONS } from '../domain/task-status.js';
import type { Actor, Agent } from '../domain/types.js';
import type { Store } from '../store/index.js';
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
}

export function createAgentService({ store, presence, tokens, bus, taskEvents, now }: Deps) {
  const lastSeenWritten = new Map<string, number>();
  const present = (viewer: Actor) => (row: Parameters<typeof presentAgent>[0]) => presentAgent(row, presence, viewer);

  const requireSelfOrAdmin = (actor: Actor, name: string) => {
    if (actor.role !== 'admin' && actor.name !== name) {
      throw new HubError('forbidden', 'Only the agent itself or an admin may change an agent.');
    }
  };

  return {
    /** Resolves verified token claims to an actor, rejecting tokens of removed agents and rotated tokens. */
    authenticate(claims: TokenClaims): Actor {
      if (claims.role === 'admin') return { name: claims.sub, role: 'admin' };
      const version = store.agents.tokenVersion(claims.sub);
      if (version === undefined) throw new HubError('unauthorized', 'The token names an agent that does not exist.');
      if (version !== claims.ver) throw new HubError('unauthorized', 'The token has been revoked.');
      return { name: claims.sub, role: 'agent' };
    },

    /** Records that the agent was seen, writing at most once per few seconds per agent. */
    touch(name: string): void {
      const at = now();
      if (at - (lastSeenWritten.get(name) ?? 0) < LAST_SEEN_WRITE_INTERVAL_MS) return;
      lastSeenWritten.set(name, at);
      store.agents.touch(name, at);
    },

    create(actor: Actor, input: AgentInput): { agent: Agent; token: string } {
      const created = store.agents.insert({
        name: input.name,
        capabilities: [...new Set(input.capabilities ?? [])],
        email: input.email ?? null,
        description: input.description ?? null,
        createdAt: now(),
      });
      if (!created) throw new HubError('conflict', `An agent named "${input.name}" already exists.`);
      return { agent: present(actor)(created.row), token: tokens.signAgent(input.name, created.tokenVersion) };
    },

    list(actor: Actor, capability?: string): Agent[] {
      return store.agents.list(capability).map(present(actor));
    },

    get(actor: Actor, name: string): Agent {
      const row = store.agents.get(name);
      if (!row) throw notFound(`Agent "${name}"`);
      return present(actor)(row);
    },

    update(actor: Actor, name: string, patch: AgentPatch): Agent {
      requireSelfOrAdmin(actor, name);
      const next: Parameters<Store['agents']['update']>[1] = {};
      if (patch.capabilities !== undefined) next.capabilities = [...new Set(patch.capabilities)];
      if (patch.email !== undefined) next.email = patch.email;
      if (patch.description !== undefined) next.description = patch.description;
      const row = store.agents.update(name, next);
      if (!row) throw notFound(`Agent "${name}"`);
      return present(actor)(row);
    },

    /** Removes the agent: its open tasks fail with `agent_removed` in the same transaction, then its streams end. */
    remove(name: string): void {
      const removed = taskEvents.run(() => {
        for (const task of store.tasks.openByTarget(name)) {
          taskEvents.transition(task, TRANSITIONS.abandon, {
            error: 'agent_removed',
            completedAt: now(),
            leaseExpiresAt: null,
          });
        }
        return store.agents.remove(name);
      });
      if (!removed) throw notFound(`Agent "${name}"`);
      lastSeenWritten.delete(name);
      bus.signal({ type: 'agent.removed', agent: name });
    },

    /** Issues a new token; every older token of the agent stops working and its open streams end. */
    rotateToken(name: string): string {
      const version = store.agents.rotateToken(name);
      if (version === undefined) throw notFound(`Agent "${name}"`);
      bus.signal({ type: 'agent.token_rotated', agent: name });
      return tokens.signAgent(name, version);
    },
  };
}

export type AgentService = ReturnType<typeof createAgentService>;
