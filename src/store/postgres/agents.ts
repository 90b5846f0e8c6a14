import { OPEN_STATUSES } from '../../domain/task-status.js';
import type { AgentPatch, AgentTable, NewAgent, RoutingCandidate } from '../store.js';
import { agentFromRaw as fromRaw, contactFromRaw, type RawAgent, type RawContact } from '../rows.js';
import type { Session } from './session.js';
import { sqlList } from './sql.js';
import { NOTIFY_TOKENS, type TokenVersionCache } from './token-versions.js';

const BUMP_TOKEN_VERSION = `INSERT INTO agent_token_versions (name, version) VALUES ($1, 1)
  ON CONFLICT (name) DO UPDATE SET version = agent_token_versions.version + 1 RETURNING version`;

async function setCapabilities(s: Session, name: string, capabilities: readonly string[]): Promise<void> {
  await s.count('DELETE FROM agent_capabilities WHERE agent = $1', [name]);
  if (capabilities.length === 0) return;
  await s.count(
    `INSERT INTO agent_capabilities (capability, agent) SELECT DISTINCT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`,
    [capabilities, name],
  );
}

/**
 * The agents table (with its capability index and token versions) on `s`. With `tokens`, every change of a version
 * or of an agent's existence tells the hubs' copies (token-versions.ts); with `cacheReads` too (the store's own
 * table, not a transaction's), `tokenVersion` reads through this hub's copy.
 */
export function createAgentTable(s: Session, tokens?: TokenVersionCache, { cacheReads = false } = {}): AgentTable {
  /** In the transaction that changes `name`'s tokens: other hubs drop it at commit, this one at once. */
  const announce = async (t: Session, name: string) => {
    tokens?.changing(name);
    await t.write(NOTIFY_TOKENS, [name]);
  };
  const readTokenVersion = async (name: string) => {
    const [row] = await s.rows<{ version: number }>(
      'SELECT v.version FROM agent_token_versions v JOIN agents a ON a.name = v.name WHERE v.name = $1',
      [name],
    );
    return row?.version;
  };
  const one = async (sql: string, params: unknown[]) => {
    const [raw] = await s.rows<RawAgent>(sql, params);
    return raw && fromRaw(raw);
  };
  return {
    get: (name) => one('SELECT * FROM agents WHERE name = $1', [name]),

    async list(capability) {
      const rows =
        capability === undefined
          ? await s.rows<RawAgent>('SELECT * FROM agents ORDER BY name')
          : await s.rows<RawAgent>(
              `SELECT a.* FROM agents a JOIN agent_capabilities c ON c.agent = a.name
               WHERE c.capability = $1 ORDER BY a.name`,
              [capability],
            );
      return rows.map(fromRaw);
    },

    async findByEmail(email) {
      return (await s.rows<RawAgent>('SELECT * FROM agents WHERE lower(email) = lower($1) ORDER BY name', [email])).map(
        fromRaw,
      );
    },

    async count() {
      const [row] = await s.rows<{ n: number }>('SELECT count(*) AS n FROM agents');
      return row?.n ?? 0;
    },

    insert: (agent: NewAgent) =>
      s.atomic(async (t) => {
        const inserted = await t.count(
          `INSERT INTO agents (name, capabilities, email, description, created_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (name) DO NOTHING`,
          [agent.name, JSON.stringify(agent.capabilities), agent.email, agent.description, agent.createdAt],
        );
        if (inserted === 0) return undefined;
        await setCapabilities(t, agent.name, agent.capabilities);
        const [bumped] = await t.rows<{ version: number }>(BUMP_TOKEN_VERSION, [agent.name]);
        return { row: { ...agent, lastSeen: null, lastAssignedAt: null }, tokenVersion: bumped!.version };
      }),

    update: (name: string, patch: AgentPatch) =>
      s.atomic(async (t) => {
        await t.serialize(`agents:${name}`);
        const [current] = await t.rows<RawAgent>('SELECT * FROM agents WHERE name = $1 FOR UPDATE', [name]);
        if (!current) return undefined;
        const next = { ...fromRaw(current), ...patch };
        await t.count('UPDATE agents SET capabilities = $2, email = $3, description = $4 WHERE name = $1', [
          name,
          JSON.stringify(next.capabilities),
          next.email,
          next.description,
        ]);
        if (patch.capabilities) await setCapabilities(t, name, patch.capabilities);
        return next;
      }),

    remove: (name) =>
      s.atomic(async (t) => {
        await announce(t, name);
        return (await t.count('DELETE FROM agents WHERE name = $1', [name])) > 0;
      }),

    rotateToken: (name: string) =>
      s.atomic(async (t) => {
        await t.serialize(`agents:${name}`);
        const [exists] = await t.rows('SELECT 1 FROM agents WHERE name = $1 FOR SHARE', [name]);
        if (!exists) return undefined;
        await announce(t, name);
        const [bumped] = await t.rows<{ version: number }>(BUMP_TOKEN_VERSION, [name]);
        return bumped!.version;
      }),

    tokenVersion: (name) => (cacheReads && tokens ? tokens.read(name, () => readTokenVersion(name)) : readTokenVersion(name)),

    async contactOf(name) {
      const [raw] = await s.rows<RawContact>(
        'SELECT a.email AS email, w.url AS url, w.events AS events FROM agents a LEFT JOIN webhooks w ON w.agent = a.name WHERE a.name = $1',
        [name],
      );
      return raw && contactFromRaw(raw);
    },

    async touch(name, at) {
      await s.count('UPDATE agents SET last_seen = $1 WHERE name = $2', [at, name]);
    },

    routingCandidates: (capability: string) =>
      s.rows<RoutingCandidate>(
        `SELECT a.name AS name, a.last_assigned_at AS "lastAssignedAt",
           (SELECT count(*) FROM tasks t WHERE t.target = a.name AND t.status IN (${sqlList(OPEN_STATUSES)}))
             AS "openTasks"
         FROM agent_capabilities c JOIN agents a ON a.name = c.agent WHERE c.capability = $1`,
        [capability],
      ),
  } satisfies AgentTable;
}
