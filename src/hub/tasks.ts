import { randomUUID } from 'node:crypto';
import { HubError, notFound } from '../domain/errors.js';
import { priorityRank, TRANSITIONS, type Priority, type TaskStatus, type Transition } from '../domain/task-status.js';
import type { Actor, HubEvent, Task, TaskKind } from '../domain/types.js';
import type { Store, StoreTables, TaskPatch, TaskRecord } from '../store/store.js';
import type { Change } from './changes.js';
import type { Presence } from './presence.js';
import { presentTask } from './present.js';
import { createRateLimiter, refusal, spendIn, type RateLimits } from './rate-limit.js';
import { pickAgent } from './routing.js';
import type { TaskEvents } from './task-events.js';

export interface TaskInput {
  target?: string;
  capability?: string;
  task: string;
  payload?: unknown;
  priority?: Priority;
  /** Epoch ms. */
  deadline?: number;
  idempotencyKey?: string;
}

export interface TaskListQuery {
  role?: 'assigner' | 'target';
  status?: TaskStatus;
  /** Admins only: whose tasks to list (default: everyone's). */
  agent?: string;
  limit: number;
  cursor?: string;
}

export interface TaskSettings {
  /** Default lease of a claim, seconds. */
  leaseSeconds: number;
  /** Deliveries before a task fails for good. */
  maxAttempts: number;
  /** `progress` calls one task may take per minute; 0 = off. Default 0 (`main` passes the config's 60). */
  progressLimit?: number;
}

/**
 * Characters of event data one page of `GET /api/tasks/:id/events` holds at most (besides its `limit`); a page
 * always holds at least one event, however large.
 */
export const TASK_HISTORY_PAGE_CHARS = 4 * 1024 * 1024;

interface Deps {
  store: Store;
  presence: Presence;
  taskEvents: TaskEvents;
  rateLimits: RateLimits;
  settings: TaskSettings;
  now: () => number;
}

const encodeCursor = (seq: number) => Buffer.from(String(seq)).toString('base64url');
function decodeCursor(cursor: string): number {
  const seq = Number(Buffer.from(cursor, 'base64url').toString());
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new HubError('validation_failed', 'The cursor is not one this hub issued.', {
      details: [{ path: 'cursor', message: 'unknown cursor' }],
    });
  }
  return seq;
}

/** A task the actor may not see is answered as one that does not exist. */
function requireVisible(actor: Actor, task: TaskRecord | undefined, id: string): asserts task is TaskRecord {
  if (!task || (actor.role !== 'admin' && actor.name !== task.assigner && actor.name !== task.target)) {
    throw notFound(`Task ${id}`);
  }
}

export function createTaskService({ store, presence, taskEvents, rateLimits, settings, now }: Deps) {
  /** The task if the actor may see it (read through `tables`: a change's tx, or the store); `404` otherwise. */
  const loadVisible = async (tables: StoreTables, actor: Actor, id: string): Promise<TaskRecord> => {
    const task = await tables.tasks.get(id);
    requireVisible(actor, task, id);
    return task;
  };

  const requireParty = (actor: Actor, task: TaskRecord, transition: Transition, action: string) => {
    const allowed =
      transition.party === 'target'
        ? actor.name === task.target
        : actor.role === 'admin' || actor.name === task.assigner;
    if (!allowed) {
      const who = transition.party === 'target' ? `the target (${task.target})` : 'the assigner or an admin';
      throw new HubError('forbidden', `Only ${who} may ${action} this task.`);
    }
  };

  /** Checks the caller and applies the guarded change to a task loaded in `change`: 403 or 409 as the contract says. */
  const apply = async (change: Change, actor: Actor, task: TaskRecord, action: string, transition: Transition,
    patch: TaskPatch, extra?: Record<string, unknown>): Promise<Task> => {
    requireParty(actor, task, transition, action);
    const updated = await taskEvents.transition(change, task, transition, patch, extra);
    if (!updated) throw new HubError('invalid_transition', `Cannot ${action} task ${task.id}: it is ${task.status}.`);
    return updated;
  };

  /**
   * Applies the guarded change for a caller: 404, 403 or 409 as the contract says. The common case, a party acting
   * on a task whose status allows it, costs one statement: the guarded UPDATE runs first and the caller is checked
   * on the row it returns; a caller it does not allow gets its 404 or 403 from that row, and the change's rollback
   * undoes the UPDATE (nothing was emitted yet). No row: the checked path tells 404, 403 and 409 apart.
   */
  const act = (actor: Actor, id: string, action: string, transition: Transition, patch: () => TaskPatch,
    extra?: Record<string, unknown>): Promise<Task> =>
    taskEvents.run(async (change) => {
      const updated = await change.tx.tasks.transition(id, transition.from, transition.to, patch(), now());
      if (updated) {
        requireVisible(actor, updated, id);
        requireParty(actor, updated, transition, action);
        return taskEvents.emitFor(change, transition.event, updated, extra);
      }
      const task = await loadVisible(change.tx, actor, id);
      return apply(change, actor, task, action, transition, patch(), extra);
    });

  const resolveTarget = async (tx: StoreTables, input: TaskInput): Promise<string> => {
    if (input.target !== undefined) {
      const agent = await tx.agents.get(input.target);
      if (!agent) throw new HubError('unknown_agent', `There is no agent named "${input.target}".`);
      if (input.capability !== undefined && !agent.capabilities.includes(input.capability)) {
        throw new HubError(
          'capability_not_offered',
          `Agent "${input.target}" does not offer the capability "${input.capability}".`,
        );
      }
      return agent.name;
    }
    const capability = input.capability as string;
    const candidates = await tx.agents.routingCandidates(capability);
    // Connected to any hub counts. A stream on this hub is known without a read, so the store is asked about the
    // others only, in one read: none when every candidate streams here, or when there is only one to choose.
    const elsewhere = candidates.length > 1 ? candidates.filter((c) => !presence.isLocal(c.name)) : [];
    const streams = elsewhere.length > 0 ? await presence.streams(elsewhere.map((c) => c.name), tx) : new Map();
    const chosen = pickAgent(candidates, (name) => presence.isLocal(name) || streams.has(name));
    if (!chosen) throw new HubError('no_agent_for_capability', `No agent offers the capability "${capability}".`);
    return chosen;
  };

  // Progress is the one call a target may repeat at will, and each makes an event: bounded per task.
  const progressLimiter =
    (settings.progressLimit ?? 0) > 0
      ? createRateLimiter({ name: 'progress', limit: settings.progressLimit as number })
      : null;

  /** Spends one progress report of task `id` in the change (spent only if it commits), or refuses with 429. */
  const admitProgress = async (change: Change, id: string) => {
    if (!progressLimiter) return;
    const { verdicts, statuses } = await spendIn(change.tx, [progressLimiter], id, now());
    if (statuses) return;
    throw refusal(
      (retry) => `Progress limit reached: at most ${progressLimiter.policy.limit} progress reports per minute per task; retry in ${retry} s.`,
      verdicts,
    );
  };

  return {
    /**
     * Creates a task in status `assigned` and delivers it. With an `idempotencyKey` the assigner has used before,
     * returns that first task instead (`created: false`). A created task counts toward the sender's rate limit.
     * Resolves once the task is committed. `id` is the new task's (rpc chooses it, to wait for the task before it
     * exists).
     * @throws HubError `rate_limited` (nothing stored) over the limit.
     */
    create(actor: Actor, input: TaskInput, kind: TaskKind = 'task', id: string = randomUUID()): Promise<{ task: Task; created: boolean }> {
      return taskEvents.run(async (change) => {
        const { tx } = change;
        if (input.idempotencyKey !== undefined) {
          const first = await tx.tasks.findByIdempotencyKey(actor.name, input.idempotencyKey);
          if (first) return { task: presentTask(first), created: false };
        }
        const target = await resolveTarget(tx, input);
        // Every front (HTTP, rpc, email) creates through here, so the sender's limit holds for all of them.
        // Spent in the creation's transaction: a creation that rolls back (here, or in a failed commit) costs nothing.
        await rateLimits.admit(tx, actor, 'task');
        const createdAt = now();
        const record = await tx.tasks.insert({
          id,
          kind,
          task: input.task,
          payload: input.payload ?? null,
          capability: input.capability ?? null,
          priority: priorityRank(input.priority ?? 'normal'),
          assigner: actor.name,
          target,
          deadline: input.deadline ?? null,
          idempotencyKey: input.idempotencyKey ?? null,
          createdAt,
        });
        return { task: await taskEvents.emitFor(change, 'task.assigned', record), created: true };
      });
    },

    async get(actor: Actor, id: string): Promise<Task> {
      return presentTask(await loadVisible(store, actor, id));
    },

    /**
     * One page of the task's recorded history, oldest first: at most `limit` events after the cursor, fewer once
     * their data passes `TASK_HISTORY_PAGE_CHARS` (always at least one). `nextCursor` is `null` on the last page.
     * In-process callers that track event ids (the A2A facade) may give `afterId` instead of a cursor.
     */
    async events(actor: Actor, id: string, query: { limit: number; cursor?: string; afterId?: number }): Promise<{ events: HubEvent[]; nextCursor: string | null }> {
      const task = await loadVisible(store, actor, id);
      const afterId = query.cursor === undefined ? (query.afterId ?? 0) : decodeCursor(query.cursor);
      const page = await store.events.listForTask(task.seq, afterId, query.limit, TASK_HISTORY_PAGE_CHARS);
      const last = page.events.at(-1);
      return { events: page.events, nextCursor: page.more && last ? encodeCursor(last.id) : null };
    },

    async list(actor: Actor, query: TaskListQuery): Promise<{ tasks: Task[]; nextCursor: string | null }> {
      const agent = actor.role === 'admin' ? query.agent : actor.name;
      const rows = await store.tasks.list({
        ...(agent !== undefined && { agent }),
        ...(agent !== undefined && query.role && { role: query.role }),
        ...(query.status && { status: query.status }),
        ...(query.cursor !== undefined && { beforeSeq: decodeCursor(query.cursor) }),
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const more = rows.length > query.limit;
      return { tasks: page.map(presentTask), nextCursor: more ? encodeCursor(page[page.length - 1]!.seq) : null };
    },

    async pending(actor: Actor, limit: number): Promise<Task[]> {
      return (await store.tasks.pending(actor.name, limit)).map(presentTask);
    },

    /** Those of `ids` whose task is terminal now, as the API shows them (what a waiting rpc polls). */
    async terminalAmong(ids: readonly string[]): Promise<Task[]> {
      return (await store.tasks.terminalAmong(ids)).map(presentTask);
    },

    claim(actor: Actor, id: string, leaseSeconds?: number): Promise<Task> {
      const lease = leaseSeconds ?? settings.leaseSeconds;
      return act(actor, id, 'claim', TRANSITIONS.claim, () => ({
        claimedAt: now(),
        leaseSeconds: lease,
        leaseExpiresAt: now() + lease * 1000,
      }));
    },

    /** @throws HubError `rate_limited` past `progressLimit` reports on this task within a minute (nothing changes). */
    progress(actor: Actor, id: string, report: { message?: string; progress?: number }): Promise<Task> {
      return taskEvents.run(async (change) => {
        const task = await loadVisible(change.tx, actor, id);
        // Checked after who may see and report on the task, so that a 429 never reveals a task to a stranger.
        requireParty(actor, task, TRANSITIONS.progress, 'report progress on');
        await admitProgress(change, id);
        return apply(change, actor, task, 'report progress on', TRANSITIONS.progress,
          { leaseExpiresAt: now() + (task.leaseSeconds ?? settings.leaseSeconds) * 1000 },
          { progress: { message: report.message ?? null, progress: report.progress ?? null } });
      });
    },

    complete(actor: Actor, id: string, result: unknown): Promise<Task> {
      return act(actor, id, 'complete', TRANSITIONS.complete, () => ({
        result: result ?? null,
        completedAt: now(),
        leaseExpiresAt: null,
      }));
    },

    /**
     * Fails the task, or with `retry` and deliveries left, hands it out again (`attempts + 1`): a retry uses up
     * a delivery just as an expired lease does, so a task is delivered at most `maxAttempts` times.
     */
    fail(actor: Actor, id: string, error: string, retry = false): Promise<Task> {
      return taskEvents.run(async (change) => {
        const task = await loadVisible(change.tx, actor, id);
        if (retry && task.attempts + 1 < settings.maxAttempts) {
          return apply(change, actor, task, 'fail', TRANSITIONS.retry, {
            error,
            attempts: task.attempts + 1,
            claimedAt: null,
            leaseExpiresAt: null,
            leaseSeconds: null,
          });
        }
        return apply(change, actor, task, 'fail', TRANSITIONS.fail, { error, completedAt: now(), leaseExpiresAt: null });
      });
    },

    cancel(actor: Actor, id: string): Promise<Task> {
      return act(actor, id, 'cancel', TRANSITIONS.cancel, () => ({ completedAt: now(), leaseExpiresAt: null }));
    },
  };
}

export type TaskService = ReturnType<typeof createTaskService>;
