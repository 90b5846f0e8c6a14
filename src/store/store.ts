/**
 * The Store: everything taskhub keeps, behind one asynchronous interface that knows nothing of SQL or a driver.
 * `sqlite/` implements it on one better-sqlite3 connection with group commit; a PostgreSQL store implements the
 * same interface on a pool. Above this file nobody knows which one runs.
 *
 * Two ways in:
 * - `store.transaction(fn)` runs `fn(tx)` as one atomic change: every operation on `tx` commits together or not
 *   at all, and the returned promise settles only once that is decided (resolved after a durable commit,
 *   rejected with nothing persisted when `fn` throws or the commit fails).
 * - The table operations on the store itself (`store.tasks.get`, `store.outbox.claimDue`, …) each run on their
 *   own: a read sees only committed data (never rows of a transaction still open, its own or anyone's), a write
 *   is atomic and durable once its promise resolves.
 *
 * Rules for a transaction's `fn` (each implementation relies on them):
 * - Await only operations of its own `tx` (and plain computation). Never await outside I/O (HTTP, SMTP, a timer,
 *   another transaction, a store-level operation): a store may run transactions one after another on a single
 *   connection, so such a wait would hold every other change back, and waiting on the store itself can deadlock.
 * - Never use `tx` after `fn` has settled; the store rejects such calls.
 * - `fn` may run more than once, and only the run that commits counts: the PostgreSQL group commit runs a batch
 *   again one change after another when it cannot keep it as it ran (postgres/group-commit.ts). A conflict the
 *   database detects otherwise rejects the transaction; nothing retries it. So effects outside the store
 *   (publishing the change's events, answering) belong after the transaction resolved.
 *
 * Operations that must happen once however many hubs share a database are claims, decided by the database: a
 * guarded transition (`tasks.transition` changes the row only if its status is one of `from`), `outbox.claimDue`
 * (one claimant per row), and due leases and deadlines read inside the transaction that applies them by
 * guarded transition, so that a task finished meanwhile is skipped rather than expired.
 */
import type { TaskStatus } from '../domain/task-status.js';
import type { HubEvent, Task, TaskKind } from '../domain/types.js';

// ---------------------------------------------------------------------------------------------------------------
// Records. Times are ms since the epoch; JSON values are parsed.

/** A task as stored: priority as its rank (0 low … 3 urgent). */
export interface TaskRecord {
  seq: number;
  id: string;
  kind: TaskKind;
  task: string;
  payload: unknown;
  capability: string | null;
  priority: number;
  status: TaskStatus;
  assigner: string;
  target: string;
  deadline: number | null;
  result: unknown;
  error: string | null;
  attempts: number;
  leaseExpiresAt: number | null;
  /** The lease length chosen at claim (seconds), renewed by each progress report. */
  leaseSeconds: number | null;
  idempotencyKey: string | null;
  createdAt: number;
  updatedAt: number;
  claimedAt: number | null;
  completedAt: number | null;
}

/** What creating a task stores; it starts `assigned`, with `updatedAt = createdAt`. */
export type NewTask = Pick<
  TaskRecord,
  'id' | 'kind' | 'task' | 'payload' | 'capability' | 'priority' | 'assigner' | 'target' | 'deadline' | 'idempotencyKey'
> & { createdAt: number };

/** Columns a transition may set besides `status` and `updatedAt`; `undefined` leaves a column as it is. */
export type TaskPatch = Partial<
  Pick<TaskRecord, 'result' | 'error' | 'attempts' | 'leaseExpiresAt' | 'leaseSeconds' | 'claimedAt' | 'completedAt'>
>;

export interface TaskQuery {
  /** Only tasks where this agent is the assigner/target (both when `role` is undefined); all when undefined. */
  agent?: string;
  role?: 'assigner' | 'target';
  status?: TaskStatus;
  /** Only tasks older than this `seq` (the cursor). */
  beforeSeq?: number;
  limit: number;
}

export interface AgentRow {
  name: string;
  capabilities: string[];
  email: string | null;
  description: string | null;
  createdAt: number;
  lastSeen: number | null;
  lastAssignedAt: number | null;
}

export type NewAgent = Omit<AgentRow, 'lastSeen' | 'lastAssignedAt'>;
export type AgentPatch = Partial<Pick<AgentRow, 'capabilities' | 'email' | 'description'>>;

/** An agent that offers a capability, with what routing needs to choose among them. */
export interface AgentContact {
  email: string | null;
  webhook: Pick<WebhookRow, 'url' | 'events'> | null;
}

export interface RoutingCandidate {
  name: string;
  /** Its tasks in an open status. */
  openTasks: number;
  lastAssignedAt: number | null;
}

/** An event to append; the store gives it its id. */
export interface NewEvent {
  type: string;
  at: number;
  taskId: string | null;
  /** The task's `seq`, by which its history is read back; absent for events about no task. */
  taskSeq?: number | null;
  /** Agents it is for: their replay reads it back. */
  recipients: readonly string[];
  /** The event's own fields (beyond id, type and at), serialised as one JSON object. */
  data: string;
  /**
   * What the row keeps instead of `data`, when that differs: large written-once task fields replaced by references
   * (see event-refs.ts). Reads give `data` back.
   */
  storedData?: string;
  /** Passed on with the appended event for in-process listeners, not stored (it is inside `data`). */
  task?: Task;
}

/** A message as stored: one row per recipient. */
export interface MessageRecord {
  seq: number;
  id: string;
  threadId: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  inReplyTo: string | null;
  createdAt: number;
  readAt: number | null;
}

export type NewMessage = Omit<MessageRecord, 'seq' | 'readAt'>;

export interface InboxQuery {
  recipient: string;
  unreadOnly: boolean;
  /** Only messages after this `seq` (the cursor). */
  afterSeq?: number;
  limit: number;
}

/** An outbox row is queued until sent or failed for good. */
export const OUTBOX_STATUSES = ['queued', 'sent', 'failed'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/** The ways an outbox row goes out: mail, or a POST to the agent's webhook. One queue, a channel per row. */
export const OUTBOX_CHANNELS = ['email', 'webhook'] as const;
export type OutboxChannel = (typeof OUTBOX_CHANNELS)[number];

/** A claimed outbox row with the event it carries. */
export interface OutboxItem {
  id: number;
  channel: OutboxChannel;
  agent: string;
  /** Where it was queued for: the email address, or the webhook URL when the event was queued. */
  address: string;
  /** Sends started, this one included. */
  attempts: number;
  /** When the row was queued (or requeued by a retry), ms: its age counts from here. */
  createdAt: number;
  event: HubEvent;
}

export type OutboxCounts = Record<OutboxStatus, number>;

/** A row that failed for good, as `GET /api/agents/:name/webhook` lists it. */
export interface FailedDelivery {
  eventId: number;
  attempts: number;
  lastError: string | null;
  /** When the last send started, ms; `null` if none ever did. */
  lastAttemptAt: number | null;
}

/** An agent's webhook. */
export interface WebhookRow {
  agent: string;
  url: string;
  /** The event types it is for; `null` for all. */
  events: string[] | null;
  /** `whsec_` + base64 key: the HMAC key of every delivery. */
  secret: string;
  createdAt: number;
}

/** A mail the dev mailbox kept. */
export interface DevMail {
  id: number;
  from: string;
  to: string;
  subject: string;
  /** Header names in lower case, values decoded; a header that occurs more than once has its values joined by ", ". */
  headers: Record<string, string>;
  text: string;
  /** The mail's `event.json` part, parsed; `null` when it has none (or it is not JSON). */
  json: unknown;
  receivedAt: number;
}

export type NewDevMail = Omit<DevMail, 'id'>;

// ---------------------------------------------------------------------------------------------------------------
// Tables. The same operations inside a transaction (on `tx`) and on their own (on the store).

export interface AgentTable {
  get(name: string): Promise<AgentRow | undefined>;
  /** Every agent (offering `capability`, when given), by name. */
  list(capability?: string): Promise<AgentRow[]>;
  /** Agents registered with this address (compared case-insensitively); several may share one mailbox. */
  findByEmail(email: string): Promise<AgentRow[]>;
  count(): Promise<number>;
  /** Creates the agent and starts a new token version; `undefined` when the name is taken. */
  insert(agent: NewAgent): Promise<{ row: AgentRow; tokenVersion: number } | undefined>;
  /** The agent after the patch; `undefined` for an unknown agent. */
  update(name: string, patch: AgentPatch): Promise<AgentRow | undefined>;
  /** Deletes the agent row (not its token version); false when there was none. */
  remove(name: string): Promise<boolean>;
  /** Revokes every older token: the new version, or `undefined` for an unknown agent. */
  rotateToken(name: string): Promise<number | undefined>;
  /** The token version in force for an existing agent; `undefined` when there is no such agent. */
  tokenVersion(name: string): Promise<number | undefined>;
  /**
   * Where an agent without a stream is reached, in one read: its registered email (`null` when none) and its
   * webhook (`null` when none); `undefined` when there is no such agent.
   */
  contactOf(name: string): Promise<AgentContact | undefined>;
  /** Sets `lastSeen` (ms). */
  touch(name: string, at: number): Promise<void>;
  routingCandidates(capability: string): Promise<RoutingCandidate[]>;
}

export interface TaskTable {
  /**
   * Inserts the task, assigned to its target, and sets the target's `lastAssignedAt` to its `createdAt` (routing
   * spreads work by it), in one write.
   */
  insert(task: NewTask): Promise<TaskRecord>;
  get(id: string): Promise<TaskRecord | undefined>;
  findByIdempotencyKey(assigner: string, key: string): Promise<TaskRecord | undefined>;
  /**
   * The guarded state change, a claim: moves the task to `to` only if its status is one of `from`, setting
   * `patch` and `updatedAt = now`. The updated task, or `undefined` when no row matched (unknown id or a status
   * not in `from`), in which case nothing changed.
   */
  transition(
    id: string,
    from: readonly TaskStatus[],
    to: TaskStatus,
    patch: TaskPatch,
    now: number,
  ): Promise<TaskRecord | undefined>;
  /** Newest first; pass the last row's `seq` as `beforeSeq` for the next page. */
  list(query: TaskQuery): Promise<TaskRecord[]>;
  /** The agent's `assigned` tasks, urgent first, then oldest first, at most `limit`. */
  pending(target: string, limit: number): Promise<TaskRecord[]>;
  /** The agent's tasks in an open status, oldest first. */
  openByTarget(target: string): Promise<TaskRecord[]>;
  /** The earliest lease end of a claimed or in-progress task (ms), or `undefined` when none runs. */
  nextLeaseExpiry(): Promise<number | undefined>;
  /** The earliest deadline of an open task (ms), or `undefined` when none has one. */
  nextDeadline(): Promise<number | undefined>;
  /** Claimed or in-progress tasks whose lease ended at or before `now`, soonest first, at most `limit`. */
  leasesDue(now: number, limit: number): Promise<TaskRecord[]>;
  /** Open tasks whose deadline is at or before `now`, soonest first, at most `limit`. */
  deadlinesDue(now: number, limit: number): Promise<TaskRecord[]>;
  /** Those of `ids` whose task is in a terminal status, in one query whatever the number of ids. */
  terminalAmong(ids: readonly string[]): Promise<TaskRecord[]>;
  /** Tasks per status; a status with none may be absent. */
  countByStatus(): Promise<Partial<Record<TaskStatus, number>>>;
}

/** One page of a task's history: the events, and whether more follow. */
export interface TaskHistoryPage {
  events: HubEvent[];
  more: boolean;
}

export interface EventTable {
  /** Appends one event (and who it is for); run it inside the transaction of the change it reports. */
  append(event: NewEvent): Promise<HubEvent>;
  /** The agent's own events after `afterId`, oldest first, at most `limit`. */
  listForAgent(agent: string, afterId: number, limit: number): Promise<HubEvent[]>;
  /** Every event after `afterId` (the admin firehose), oldest first, at most `limit`. */
  listAll(afterId: number, limit: number): Promise<HubEvent[]>;
  /**
   * Events of the task with this `seq` after `afterId`, oldest first: at most `limit`, and no more once their
   * data adds up to `maxChars` (the first event always comes, however large); `more` tells whether more follow.
   */
  listForTask(taskSeq: number, afterId: number, limit: number, maxChars?: number): Promise<TaskHistoryPage>;
  /** The newest committed id (0 before the first event); no smaller id can appear after it is read. */
  lastId(): Promise<number>;
  /** Ids at or below this can no longer be replayed; 0 when nothing has been pruned. */
  prunedThrough(): Promise<number>;
  /**
   * Forgets who the events before `cutoff` (ms) were for, ending their replay; the events stay as the tasks'
   * audit trail. Returns the id through which replay is gone.
   */
  pruneBefore(cutoff: number): Promise<number>;
}

export interface MessageTable {
  /** Inserts one copy of a send; run it inside the transaction that emits its event. */
  insert(message: NewMessage): Promise<MessageRecord>;
  get(id: string): Promise<MessageRecord | undefined>;
  /** The recipient's messages after the cursor, oldest first, at most `limit`. */
  inbox(query: InboxQuery): Promise<MessageRecord[]>;
  /** Sets `readAt` if it is not set yet; the updated message, or `undefined` when it was already read. */
  markRead(id: string, at: number): Promise<MessageRecord | undefined>;
  /** The thread's messages after the cursor, oldest first, at most `limit`. */
  thread(threadId: string, afterSeq: number, limit: number): Promise<MessageRecord[]>;
  /** The message that started the thread; `undefined` for an unknown thread. */
  firstOfThread(threadId: string): Promise<MessageRecord | undefined>;
  /** True when `name` sent or received any message of the thread. */
  isParticipant(threadId: string, name: string): Promise<boolean>;
  /** Every agent but `sender`, by name, at most `limit`: the recipients of a broadcast. */
  broadcastAudience(sender: string, limit: number): Promise<string[]>;
  /** Everyone who sent or received a message of the thread, in order of first appearance. */
  participants(threadId: string): Promise<string[]>;
}

/**
 * The durable outbox, shaped like a queue: `enqueue` inside the event's transaction, `claimDue` takes the next
 * due row (one claimant per row, whatever the number of hubs) and hides it for the claim's duration, and the
 * sender settles it with `markSent`, `retryAt` or `markFailed` (each a no-op unless the row is still queued).
 * Rows have a channel (`email` or `webhook`); operations that take one default to `email`, and each sender
 * claims, waits for and counts only its own.
 */
export interface OutboxTable {
  /**
   * Queues the event for `agent` at `address` (email address or webhook URL), due at `at` (ms); a second call
   * for the same event and agent does nothing, whatever its channel.
   */
  enqueue(eventId: number, agent: string, address: string, at: number, channel?: OutboxChannel): Promise<void>;
  /**
   * Claims the row of `channel` due soonest (at or before `now`) and hides it until `visibleAgainAt` (ms), so that
   * a sender that dies mid-send leaves the row to be retried then. `undefined` when nothing is due.
   */
  claimDue(now: number, visibleAgainAt: number, channel?: OutboxChannel): Promise<OutboxItem | undefined>;
  /** `claimDue` for up to `limit` rows at once, soonest first: one statement, each row to one claimant. */
  claimMany(channel: OutboxChannel, now: number, visibleAgainAt: number, limit: number): Promise<OutboxItem[]>;
  markSent(id: number, at: number): Promise<void>;
  /** Leaves the row queued, due again at `at` (ms), remembering why the last send failed. */
  retryAt(id: number, at: number, error: string): Promise<void>;
  markFailed(id: number, error: string): Promise<void>;
  /** When the next queued row of `channel` is due (ms), `undefined` when none is queued. */
  nextDueAt(channel?: OutboxChannel): Promise<number | undefined>;
  counts(channel?: OutboxChannel): Promise<OutboxCounts>;
  /** One agent's rows of `channel` by status. */
  agentCounts(agent: string, channel: OutboxChannel): Promise<OutboxCounts>;
  /** The agent's newest `limit` failed rows of `channel`, newest first. */
  failedOf(agent: string, channel: OutboxChannel, limit: number): Promise<FailedDelivery[]>;
  /** Queues the agent's failed rows of `channel` again, due at `at`, with a fresh age and backoff: how many. */
  requeueFailed(agent: string, channel: OutboxChannel, at: number): Promise<number>;
  /** Marks the agent's queued rows of `channel` failed with `error` (its webhook was removed): how many. */
  failQueued(agent: string, channel: OutboxChannel, error: string): Promise<number>;
  /** A random id of this database, generated once (the same for every hub on it): part of every Message-ID. */
  instanceId(): Promise<string>;
}

/** Agents' webhooks: one per agent, removed with the agent. */
export interface WebhookTable {
  get(agent: string): Promise<WebhookRow | undefined>;
  /** Sets the agent's webhook, replacing url, events and secret of one it has (its `createdAt` stays). */
  put(webhook: WebhookRow): Promise<WebhookRow>;
  /**
   * Removes the agent's webhook; with `secret`, only while it still has that secret (a 410 for a webhook the agent
   * has since replaced removes nothing). False when nothing was removed.
   */
  remove(agent: string, secret?: string): Promise<boolean>;
}

/** A mail as a list shows it: `text` and the `event.json` text at most `previewChars` long. */
export interface DevMailPreview extends Omit<DevMail, 'json'> {
  /** The JSON text of `event.json`, cut; `null` when the mail has none. */
  jsonText: string | null;
  /** True when `text` or `jsonText` was cut. */
  cut: boolean;
}

/** How many mails and bytes the dev mailbox keeps; the oldest go first past either. */
export interface DevMailboxBounds {
  maxMails: number;
  /** Bytes of subject, headers, text and JSON summed over the kept mails. */
  maxBytes: number;
}

/** The dev mailbox: mail the embedded SMTP listener kept. */
export interface DevMailboxTable {
  /** Stores the mails and drops the oldest past the bounds. */
  add(mails: readonly NewDevMail[], bounds: DevMailboxBounds): Promise<void>;
  /**
   * Up to `limit` mails older than `beforeId` (default: the newest), newest first, to `to` when given (compared
   * in lower case), with `text` and the JSON text cut at `previewChars`.
   */
  listPreviews(query: { limit: number; beforeId?: number; to?: string; previewChars: number }): Promise<DevMailPreview[]>;
  /** One whole mail, or undefined. */
  get(id: number): Promise<DevMail | undefined>;
}

/** What opening a stream found: whether it counts now, and the agent's streams on every live hub. */
export interface StreamOpening {
  opened: boolean;
  /** Streams of the agent on live hubs: after this one when `opened`, else the count that refused it. */
  streams: number;
}

/**
 * Presence across hubs: each hub's open streams per agent, and a row per hub whose expiry its heartbeat pushes
 * forward. Streams of a hub whose row has expired count for nothing (reads pass `now`), and `sweep` deletes them.
 * Every write is called on the store (each runs on its own, atomically), never inside a transaction; reads may run
 * on a transaction, which then sees the presence as committed.
 */
export interface PresenceTable {
  /**
   * Counts one more stream of `agent` on `hubId` if the agent has fewer than `max` on live hubs, deciding atomically
   * against every hub: two opens racing for the last slot never both win.
   */
  open(hubId: string, agent: string, max: number, now: number): Promise<StreamOpening>;
  /** Counts one stream fewer of `agent` on `hubId` (never below 0). */
  close(hubId: string, agent: string): Promise<void>;
  /**
   * Re-asserts the hub's whole state: its row, live until `expiresAt` (ms), and exactly `counts` as its streams per
   * agent (rows of other agents go), so a hub swept while cut off from the database comes back whole.
   */
  heartbeat(hubId: string, counts: ReadonlyMap<string, number>, now: number, expiresAt: number): Promise<void>;
  /** Streams on live hubs of each of `agents` that has any, in one query whatever the number of agents. */
  streams(agents: readonly string[], now: number): Promise<Map<string, number>>;
  /** Distinct agents with at least one stream on a live hub. */
  connectedAgents(now: number): Promise<number>;
  /** Hubs whose row has not expired. */
  liveHubs(now: number): Promise<number>;
  /** Deletes the hub's row and its streams (a clean stop). */
  removeHub(hubId: string): Promise<void>;
  /** Deletes rows of hubs expired at `now`; returns how many hubs went. */
  sweep(now: number): Promise<number>;
}

/**
 * Rate-limit buckets, kept as GCRA state: per (policy, key) the time at which the bucket is full again (ms). A
 * bucket never used, or full again, reads as 0. Spending is `lock` then `save` inside the transaction of the change
 * that spends, so a change that rolls back spends nothing and concurrent changes on several hubs queue on the row.
 */
export interface RateLimitTable {
  /** When the bucket is full again, locking it for the rest of the transaction; call it inside a transaction only. */
  lock(policy: string, key: string): Promise<number>;
  /** Sets when the bucket is full again (after `lock` in the same transaction). */
  save(policy: string, key: string, fullAt: number): Promise<void>;
  /** When the bucket is full again, without locking (for an early refusal outside a transaction). */
  peek(policy: string, key: string): Promise<number>;
  /** Deletes buckets full again at or before `now`; returns how many. */
  prune(now: number): Promise<number>;
}

/** Every table. */
export interface StoreTables {
  readonly agents: AgentTable;
  readonly tasks: TaskTable;
  readonly events: EventTable;
  readonly messages: MessageTable;
  readonly outbox: OutboxTable;
  readonly webhooks: WebhookTable;
  readonly devMailbox: DevMailboxTable;
  readonly presence: PresenceTable;
  readonly rateLimits: RateLimitTable;
}

/** The tables as one open transaction sees them: its own writes included, nothing committed until it ends. */
export type StoreTx = StoreTables;

/**
 * Committed events in id order from every process that writes to the database: what a store shared by several
 * hubs offers so that each hub's listeners hear of changes made through any hub. Only ids visible in order (no
 * smaller id can appear later) are handed out.
 */
export interface EventFeed {
  /** Follows events after `afterId`; `onEvents` gets each batch in id order. */
  start(afterId: number, onEvents: (events: HubEvent[]) => void): void;
  /** Stops following; safe to call twice. */
  stop(): Promise<void>;
}

/** See the top of this file. Implementations state `satisfies Store`. */
export interface Store extends StoreTables {
  /**
   * Present on a store several hubs share: the hub then publishes the events it reads from the feed (its own
   * included) instead of those its changes wrote, so that every hub's bus carries every event once, in id order.
   */
  readonly feed?: EventFeed;
  /**
   * Runs `fn(tx)` as one atomic change. Resolves with `fn`'s result only after a durable commit; rejects, with
   * nothing persisted, when `fn` throws (with `fn`'s error) or the commit fails. `fn` must await nothing but `tx`.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Waits for what is in flight to commit, then closes; later calls reject. Safe to call twice. */
  close(): Promise<void>;
}
