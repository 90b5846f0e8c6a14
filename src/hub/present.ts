import { priorityFromRank } from '../domain/task-status.js';
import { toIso, type Actor, type Agent, type Task } from '../domain/types.js';
import type { AgentRow, TaskRecord } from '../store/store.js';

/** The API's view of a stored task. */
export function presentTask(record: TaskRecord): Task {
  return {
    id: record.id,
    kind: record.kind,
    task: record.task,
    payload: record.payload,
    capability: record.capability,
    priority: priorityFromRank(record.priority),
    status: record.status,
    assigner: record.assigner,
    target: record.target,
    deadline: toIso(record.deadline),
    result: record.result,
    error: record.error,
    attempts: record.attempts,
    leaseExpiresAt: toIso(record.leaseExpiresAt),
    createdAt: toIso(record.createdAt) as string,
    updatedAt: toIso(record.updatedAt) as string,
    claimedAt: toIso(record.claimedAt),
    completedAt: toIso(record.completedAt),
  };
}

/** The API's view of an agent, with its streams on every hub; the email only for admins and the agent itself. */
export function presentAgent(row: AgentRow, streams: number, viewer: Actor): Agent {
  const agent: Agent = {
    name: row.name,
    capabilities: row.capabilities,
    description: row.description,
    connected: streams > 0,
    streams,
    lastSeen: toIso(row.lastSeen),
    createdAt: toIso(row.createdAt) as string,
  };
  if (viewer.role === 'admin' || viewer.name === row.name) agent.email = row.email;
  return agent;
}
