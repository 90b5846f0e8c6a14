import type { AgentContact, AgentPatch, AgentRow, AgentTable, NewAgent, RoutingCandidate } from '../store.js';
import { agentFromRaw as fromRaw, contactFromRaw, type RawAgent, type RawContact } from '../rows.js';
import type { Db } from './db.js';
import type { SyncTable } from './sync.js';
import type { TokenVersionCache } from './token-versions.js';

/**
 * The agents table (with their capabilities and token versions). On the writer, `tokens` is the store's copy of the
 * versions, told of every change to one.
 */
export function createAgentTable(db: Db, tokens?: Pick<TokenVersionCache, 'changing'>): SyncTable<AgentTable> {
  const q = {
    get: db.prepare<[string], RawAgent>('SELECT * FROM agents WHERE name = ?'),
    list: db.prepare<[], RawAgent>('SELECT * FROM agents ORDER BY name'),
    listByCapability: db.prepare<[string], RawAgent>(
      `SELECT a.* FROM agents a JOIN agent_capabilities c ON c.agent = a.name
       WHERE c.capability = ? ORDER BY a.name`,
    ),
    insert: db.prepare(
      `INSERT INTO agents (name, capabilities, email, description, created_at)
       VALUES (@name, @capabilities, @email, @description, @createdAt) ON CONFLICT (name) DO NOTHING`,
    ),
    update: db.prepare(
      'UPDATE agents SET capabilities = @capabilities, email = @email, description = @description WHERE name = @name',
    ),
    remove: db.prepare('DELETE FROM agents WHERE name = ?'),
    clearCapabilities: db.prepare('DELETE FROM agent_capabilities WHERE agent = ?'),
    addCapability: db.prepare('INSERT OR IGNORE INTO agent_capabilities (capability, agent) VALUES (?, ?)'),
    bumpTokenVersion: db.prepare<[string], number>(
      `INSERT INTO agent_token_versions (name, version) VALUES (?, 1)
       ON CONFLICT (name) DO UPDATE SET version = version + 1 RETURNING version`,
    ),
    tokenVersion: db.prepare<[string], number>(
      `SELECT v.version FROM agent_token_versions v JOIN agents a ON a.name = v.name WHERE v.name = ?`,
    ),
    contactOf: db.prepare<[string], RawContact>(
      'SELECT a.email AS email, w.url AS url, w.events AS events FROM agents a LEFT JOIN webhooks w ON w.agent = a.name WHERE a.name = ?',
    ),
    touch: db.prepare('UPDATE agents SET last_seen = ? WHERE name = ?'),
    // Read as arrays, as task rows are (task-rows.ts): every routed task reads each candidate's row.
    candidates: db.prepare<[string], [name: string, openTasks: number, lastAssignedAt: number | null]>(
      `SELECT a.name, a.open_tasks, a.last_assigned_at
       FROM agent_capabilities c JOIN agents a ON a.name = c.agent WHERE c.capability = ?`,
    ),
    count: db.prepare<[], number>('SELECT count(*) FROM agents'),
    byEmail: db.prepare<[string], RawAgent>('SELECT * FROM agents WHERE lower(email) = lower(?) ORDER BY name'),
  };
  for (const stmt of [q.bumpTokenVersion, q.tokenVersion, q.count]) stmt.pluck();
  q.candidates.raw();

  const setCapabilities = (name: string, capabilities: readonly string[]) => {
    q.clearCapabilities.run(name);
    for (const capability of capabilities) q.addCapability.run(capability, name);
  };

  const ops = {
    get(name: string): AgentRow | undefined {
      const raw = q.get.get(name);
      return raw && fromRaw(raw);
    },

    list(capability?: string): AgentRow[] {
      return (capability === undefined ? q.list.all() : q.listByCapability.all(capability)).map(fromRaw);
    },

    /** Agents registered with this address (compared case-insensitively); several may share one mailbox. */
    findByEmail(email: string): AgentRow[] {
      return q.byEmail.all(email).map(fromRaw);
    },

    count(): number {
      return q.count.get() as number;
    },

    // Several statements each: the store runs every operation inside a transaction, so they commit together.
    insert(agent: NewAgent): { row: AgentRow; tokenVersion: number } | undefined {
      const inserted = q.insert.run({ ...agent, capabilities: JSON.stringify(agent.capabilities) });
      if (inserted.changes === 0) return undefined;
      tokens?.changing(agent.name);
      setCapabilities(agent.name, agent.capabilities);
      const tokenVersion = q.bumpTokenVersion.get(agent.name) as number;
      return { row: { ...agent, lastSeen: null, lastAssignedAt: null }, tokenVersion };
    },

    update(name: string, patch: AgentPatch): AgentRow | undefined {
      const current = q.get.get(name);
      if (!current) return undefined;
      const next = { ...fromRaw(current), ...patch };
      q.update.run({ ...next, capabilities: JSON.stringify(next.capabilities) });
      if (patch.capabilities) setCapabilities(name, patch.capabilities);
      return next;
    },

    /** Deletes the agent row; callers wrap it with what must happen to its tasks in one transaction. */
    remove(name: string): boolean {
      tokens?.changing(name);
      return q.remove.run(name).changes > 0;
    },

    rotateToken(name: string): number | undefined {
      if (!q.get.get(name)) return undefined;
      tokens?.changing(name);
      return q.bumpTokenVersion.get(name) as number;
    },

    /** The token version in force for an existing agent; `undefined` when there is no such agent. */
    tokenVersion(name: string): number | undefined {
      return q.tokenVersion.get(name) as number | undefined;
    },

    contactOf(name: string): AgentContact | undefined {
      const raw = q.contactOf.get(name);
      return raw && contactFromRaw(raw);
    },

    touch(name: string, at: number): void {
      q.touch.run(at, name);
    },

    routingCandidates(capability: string): RoutingCandidate[] {
      const rows = q.candidates.all(capability);
      return rows.map(([name, openTasks, lastAssignedAt]) => ({ name, openTasks, lastAssignedAt }));
    },
  };
  return { ops, writes: ['insert', 'update', 'remove', 'rotateToken', 'touch'] };
}
