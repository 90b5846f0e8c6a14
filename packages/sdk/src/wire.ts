/**
 * The wire shapes of the taskhub HTTP API (docs/http.md), defined once: the hub's presenters, the SDK and the
 * dashboard all use these. This module has no dependencies and no side effects, so the hub and the browser can
 * import it alone (`@taskhub/sdk/wire`). Times are ISO-8601 UTC strings; absent values are `null`.
 */

export const TASK_STATUSES = ['assigned', 'claimed', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The statuses after which a task never changes again. */
export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled', 'expired'] as const satisfies readonly TaskStatus[];
/** The statuses of a task still being worked on. */
export const OPEN_STATUSES = ['assigned', 'claimed', 'in_progress'] as const satisfies readonly TaskStatus[];

export function isTerminal(status: TaskStatus): boolean {
  return (TERMINAL_STATUSES as readonly TaskStatus[]).includes(status);
}

/** Lowest first. */
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

export type TaskKind = 'task' | 'rpc';

/** A task. */
export interface Task {
  id: string;
  kind: TaskKind;
  task: string;
  payload: unknown;
  capability: string | null;
  priority: Priority;
  status: TaskStatus;
  assigner: string;
  target: string;
  deadline: string | null;
  result: unknown;
  error: string | null;
  attempts: number;
  leaseExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  claimedAt: string | null;
  completedAt: string | null;
}

/** An agent. `email` is present only for admins and for the agent itself. */
export interface Agent {
  name: string;
  capabilities: string[];
  email?: string | null;
  description: string | null;
  connected: boolean;
  streams: number;
  lastSeen: string | null;
  createdAt: string;
}

export interface Message {
  id: string;
  threadId: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  inReplyTo: string | null;
  createdAt: string;
  readAt: string | null;
}

export interface Thread {
  threadId: string;
  subject: string;
  participants: string[];
  messages: Message[];
  nextCursor?: string | null;
}

/** Pass `nextCursor` back as `cursor` for the next (older) page; `null` when there is none. */
export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
}

export interface InboxPage {
  messages: Message[];
  nextCursor: string | null;
}

/** An event of the SSE stream (`task.*`, `message`, or `reset`), as its `data:` line carries it. */
export interface HubEvent {
  id: number;
  type: string;
  /** ISO-8601 time. */
  at: string;
  taskId?: string;
  /** The task as it is after the event (`task.*` events). */
  task?: Task;
  /** The message (`message` events). */
  message?: Message;
  /** `task.progress`: what the target reported. */
  progress?: { message: string | null; progress: number | null };
  [field: string]: unknown;
}

/** The answer of `POST /api/tasks/rpc`: the task's ending, or `timeout`. */
export interface RpcAnswer {
  taskId: string;
  status: (typeof TERMINAL_STATUSES)[number] | 'timeout';
  /** Only when `completed` (`null` if the target gave none). */
  result?: unknown;
  error?: string | null;
}

/**
 * One report of `POST /api/tasks/reports`: what `POST /api/tasks/:id/<op>` takes as its body, with the task's id and
 * the op. An agent sends several at once instead of a request each.
 */
export type TaskReport =
  | { op: 'claim'; taskId: string; leaseSeconds?: number }
  | { op: 'progress'; taskId: string; message?: string; progress?: number }
  | { op: 'complete'; taskId: string; result?: unknown }
  | { op: 'fail'; taskId: string; error: string; retry?: boolean };

/** Most reports one `POST /api/tasks/reports` carries (the hub refuses more with 400). */
export const REPORTS_PER_REQUEST = 100;
/** Most calls one `POST /api/tasks/rpcs` carries (the hub refuses more with 400). */
export const RPCS_PER_REQUEST = 100;

/**
 * One line of `POST /api/tasks/rpcs`'s answer (NDJSON), written when call number `index` of the request ends: what
 * `POST /api/tasks/rpc` would have answered for it, its status beside it.
 */
export type RpcLine = { index: number; status: 200; answer: RpcAnswer } | ({ index: number; status: number } & ErrorBody);

/** What one report came to: the answer its single-task endpoint would have given, with that endpoint's status. */
export type TaskReportOutcome = { status: 200; task: Task } | ({ status: number } & ErrorBody);

/** The answer of `POST /api/tasks/reports`: one outcome per report, in the order they were sent. */
export interface TaskReportsAnswer {
  results: TaskReportOutcome[];
}

/** `GET /api/stats` (admin). */
export interface Stats {
  tasks: Record<TaskStatus, number>;
  agents: { total: number; connected: number };
  events: { lastId: number };
  rpc?: { waiting: number };
  outbox?: { queued: number; sent: number; failed: number };
  /** Webhook deliveries by status. */
  webhooks?: DeliveryCounts;
  /** Hubs live on the hub's database (1 on SQLite); absent from hubs older than v2. */
  hubs?: { live: number };
}

/** Deliveries of one channel by status. */
export interface DeliveryCounts {
  queued: number;
  sent: number;
  failed: number;
}

/** An agent's webhook (`GET/PUT /api/agents/:name/webhook`); its secret is shown only by the PUT. */
export interface Webhook {
  url: string;
  /** The event types POSTed; `null` for every type. */
  events: string[] | null;
  createdAt: string;
}

/** The answer of `PUT /api/agents/:name/webhook`. */
export interface WebhookCreated {
  webhook: Webhook;
  /** `whsec_` + base64 of 32 random bytes: the signing key, shown only here and replaced at every PUT. */
  secret: string;
}

/** A delivery that failed for good (24 h of retries), as `GET …/webhook` lists it. */
export interface FailedDelivery {
  /** The event's id, which is also the delivery's `webhook-id`. */
  eventId: number;
  attempts: number;
  lastError: string | null;
  lastAttemptAt: string | null;
}

/** The answer of `GET /api/agents/:name/webhook`. */
export interface WebhookState {
  webhook: Webhook;
  deliveries: DeliveryCounts;
  /** The newest 100 failed deliveries, newest first. */
  failed: FailedDelivery[];
}

/** A mail the dev mailbox kept (`GET /api/mailbox`). */
export interface DevMail {
  id: number;
  from: string;
  to: string;
  subject: string;
  /** Header names in lower case, values decoded; a repeated header's values joined by ", ". */
  headers: Record<string, string>;
  text: string;
  /** The mail's `event.json` part, parsed; `null` when it has none (in lists: its text, cut, when too long). */
  json: unknown;
  receivedAt: string;
  /** In lists only: `true` when `text`, `json` or a header was cut to a preview (`GET /api/mailbox/:id` has it whole). */
  truncated?: true;
}

/** The codes the hub answers errors with; each maps to one HTTP status (docs/http.md). */
export type ErrorCode =
  | 'invalid_json'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'invalid_transition'
  | 'conflict'
  | 'payload_too_large'
  | 'no_agent_for_capability'
  | 'capability_not_offered'
  | 'unknown_agent'
  | 'too_many_recipients'
  | 'webhook_url_refused'
  | 'rate_limited'
  | 'too_many_streams'
  | 'shutting_down'
  | 'overloaded'
  | 'unavailable'
  | 'internal_error';

export interface ErrorDetail {
  path: string;
  message: string;
}

/** Every error answer: `{"error": {code, message, details?}}`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: ErrorDetail[] };
}
