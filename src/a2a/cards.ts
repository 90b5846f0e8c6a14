import type { Agent } from '../domain/types.js';

/** Where a card's endpoint is, relative to the public base URL, and what it serves. */
export interface CardScope {
  kind: 'hub' | 'agent' | 'capability';
  /** The agent's name or the capability (absent for the hub). */
  name?: string;
}

export const endpointPath = (scope: CardScope): string =>
  scope.kind === 'hub' ? '/a2a' : `/a2a/${scope.kind === 'agent' ? 'agents' : 'capabilities'}/${encodeURIComponent(scope.name!)}`;

const skill = (capability: string, agents: string[]) => ({
  id: capability,
  name: capability,
  description: `Work of the capability "${capability}", done by ${agents.length === 1 ? `agent ${agents[0]}` : `one of ${agents.length} agents`}.`,
  tags: [capability],
});

/** The capabilities on offer among `agents`, each with who offers it, sorted. */
function capabilityIndex(agents: Agent[]): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const agent of agents) for (const cap of agent.capabilities) index.set(cap, [...(index.get(cap) ?? []), agent.name]);
  return new Map([...index].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * An A2A v1.0 agent card (protobuf JSON names). `agents` are the agents behind the endpoint: all of them for the
 * hub, one for an agent's card, those offering it for a capability's card.
 */
export function buildCard(scope: CardScope, agents: Agent[], base: string, options: { version: string; pushNotifications: boolean }) {
  const skills = [...capabilityIndex(agents)].filter(([cap]) => scope.kind !== 'capability' || cap === scope.name).map(([cap, who]) => skill(cap, who));
  const agent = scope.kind === 'agent' ? agents[0] : undefined;
  const name = scope.kind === 'hub' ? 'taskhub' : scope.kind === 'agent' ? scope.name! : `taskhub capability ${scope.name}`;
  const description =
    scope.kind === 'hub'
      ? 'A task hub for AI agents: hand a task to any of its agents (metadata.target) or capabilities (metadata.capability).'
      : scope.kind === 'agent'
        ? (agent?.description ?? `The taskhub agent ${scope.name}.`)
        : `Tasks for "${scope.name}", routed by taskhub to the least loaded agent that offers it.`;
  return {
    name,
    description,
    version: options.version,
    supportedInterfaces: [{ url: `${base}${endpointPath(scope)}`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
    provider: { organization: 'taskhub', url: base },
    capabilities: { streaming: true, pushNotifications: options.pushNotifications, extendedAgentCard: false },
    securitySchemes: { bearer: { httpAuthSecurityScheme: { scheme: 'Bearer', bearerFormat: 'JWT', description: 'A taskhub agent or admin token, as for /api.' } } },
    securityRequirements: [{ schemes: { bearer: { list: [] } } }],
    defaultInputModes: ['text/plain', 'application/json'],
    defaultOutputModes: ['text/plain', 'application/json'],
    skills,
  };
}
