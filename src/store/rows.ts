/**
 * Rows as both stores read them, and how each becomes the record the Store hands out. The SQLite and PostgreSQL
 * schemas use the same column names and types as seen from JavaScript (times as ms numbers, JSON as text), so one
 * mapper serves both; a store-specific column (a preview's `cut`, an event's recipients) stays in its store.
 */
import type { TaskStatus } from '../domain/task-status.js';
import type { HubEvent, TaskKind } from '../domain/types.js';
import type {
  AgentContact,
  AgentRow,
  DevMail,
  DevMailPreview,
  MessageRecord,
  OutboxChannel,
  OutboxCounts,
  OutboxItem,
  OutboxStatus,
  TaskHistoryPage,
  TaskPatch,
  TaskRecord,
  WebhookRow,
} from './store.js';

export const parseJson = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
/** `undefined` and `null` are both stored as SQL NULL. */
export const toJson = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

export interface RawTask {
  seq: number;
  id: string;
  kind: TaskKind;
  task: string;
  payload: string | null;
  capability: string | null;
  priority: number;
  status: TaskStatus;
  assigner: string;
  target: string;
  deadline: number | null;
  result: string | null;
  error: string | null;
  attempts: number;
  lease_expires_at: number | null;
  lease_seconds: number | null;
  idempotency_key: string | null;
  created_at: number;
  updated_at: number;
  claimed_at: number | null;
  completed_at: number | null;
}

/** The column each field of a transition's patch is stored in. */
export const TASK_PATCH_COLUMNS: Record<keyof TaskPatch, string> = {
  result: 'result',
  error: 'error',
  attempts: 'attempts',
  leaseExpiresAt: 'lease_expires_at',
  leaseSeconds: 'lease_seconds',
  claimedAt: 'claimed_at',
  completedAt: 'completed_at',
};

export const taskFromRaw = (raw: RawTask): TaskRecord => ({
  seq: raw.seq,
  id: raw.id,
  kind: raw.kind,
  task: raw.task,
  payload: parseJson(raw.payload),
  capability: raw.capability,
  priority: raw.priority,
  status: raw.status,
  assigner: raw.assigner,
  target: raw.target,
  deadline: raw.deadline,
  result: parseJson(raw.result),
  error: raw.error,
  attempts: raw.attempts,
  leaseExpiresAt: raw.lease_expires_at,
  leaseSeconds: raw.lease_seconds,
  idempotencyKey: raw.idempotency_key,
  createdAt: raw.created_at,
  updatedAt: raw.updated_at,
  claimedAt: raw.claimed_at,
  completedAt: raw.completed_at,
});

export interface RawAgent {
  name: string;
  capabilities: string;
  email: string | null;
  description: string | null;
  created_at: number;
  last_seen: number | null;
  last_assigned_at: number | null;
}

export const agentFromRaw = (raw: RawAgent): AgentRow => ({
  name: raw.name,
  capabilities: JSON.parse(raw.capabilities) as string[],
  email: raw.email,
  description: raw.description,
  createdAt: raw.created_at,
  lastSeen: raw.last_seen,
  lastAssignedAt: raw.last_assigned_at,
});

export interface RawMessage {
  seq: number;
  id: string;
  thread_id: string;
  sender: string;
  recipient: string;
  subject: string;
  body: string;
  in_reply_to: string | null;
  created_at: number;
  read_at: number | null;
}

export const messageFromRaw = (raw: RawMessage): MessageRecord => ({
  seq: raw.seq,
  id: raw.id,
  threadId: raw.thread_id,
  from: raw.sender,
  to: raw.recipient,
  subject: raw.subject,
  body: raw.body,
  inReplyTo: raw.in_reply_to,
  createdAt: raw.created_at,
  readAt: raw.read_at,
});

export interface RawEvent {
  id: number;
  type: string;
  at: number;
  task_id: string | null;
  data: string;
}

/** Gives an event's stored data back whole (large task fields are stored by reference: event-refs.ts). */
export type ExpandEventData = (taskId: string | null, data: string) => string;

export const eventFromRaw = (raw: RawEvent, recipients: readonly string[], expand: ExpandEventData): HubEvent => ({
  id: raw.id,
  type: raw.type,
  at: raw.at,
  taskId: raw.task_id,
  recipients,
  data: expand(raw.task_id, raw.data),
});

export interface RawWebhook {
  agent: string;
  url: string;
  events: string | null;
  secret: string;
  created_at: number;
}

export interface RawContact {
  email: string | null;
  url: string | null;
  events: string | null;
}

export const contactFromRaw = (raw: RawContact): AgentContact => ({
  email: raw.email,
  webhook: raw.url === null ? null : { url: raw.url, events: raw.events === null ? null : (JSON.parse(raw.events) as string[]) },
});

export const webhookFromRaw = (raw: RawWebhook): WebhookRow => ({
  agent: raw.agent,
  url: raw.url,
  events: raw.events === null ? null : (JSON.parse(raw.events) as string[]),
  secret: raw.secret,
  createdAt: raw.created_at,
});

export interface RawMail {
  id: number;
  sender: string;
  recipient: string;
  subject: string;
  headers: string;
  text: string;
  json: string | null;
  received_at: number;
}

/** What a dev mail and its preview share. */
const mailHeadOf = (raw: RawMail) => ({
  id: raw.id,
  from: raw.sender,
  to: raw.recipient,
  subject: raw.subject,
  headers: JSON.parse(raw.headers) as Record<string, string>,
  text: raw.text,
});

export const mailFromRaw = (raw: RawMail): DevMail => ({
  ...mailHeadOf(raw),
  json: raw.json === null ? null : JSON.parse(raw.json),
  receivedAt: raw.received_at,
});

/** A claimed outbox row joined with its event. */
export interface RawClaimed {
  id: number;
  channel: OutboxChannel;
  agent: string;
  /** The address of its channel: an email address, or the webhook's URL when it was queued. */
  email: string;
  attempts: number;
  created_at: number;
  event_id: number;
  type: string;
  at: number;
  task_id: string | null;
  data: string;
}

export const outboxItemFromRaw = (raw: RawClaimed, expand: ExpandEventData): OutboxItem => ({
  id: raw.id,
  channel: raw.channel,
  agent: raw.agent,
  address: raw.email,
  attempts: raw.attempts,
  createdAt: raw.created_at,
  event: eventFromRaw(
    { id: raw.event_id, type: raw.type, at: raw.at, task_id: raw.task_id, data: raw.data },
    [raw.agent],
    expand,
  ),
});

/** Outbox rows per status, every status present. */
export const outboxCountsOf = (rows: { status: OutboxStatus; n: number }[]): OutboxCounts => {
  const counts: OutboxCounts = { queued: 0, sent: 0, failed: 0 };
  for (const row of rows) counts[row.status] = row.n;
  return counts;
};

/** A dev mail as a list shows it, its text and JSON cut in SQL; `cut` as the store's driver returns a boolean. */
export const previewFromRaw = (raw: RawMail, cut: boolean): DevMailPreview => ({
  ...mailHeadOf(raw),
  jsonText: raw.json,
  cut,
  receivedAt: raw.received_at,
});

/**
 * One page of a task's history from `rows`, read one row past `limit` (so that a row left over says more follow).
 * Rows are expanded one at a time and the page ends once their data would pass `maxChars` (the first event always
 * comes, however large), so a page never holds more than it returns.
 */
export function historyPage(rows: readonly RawEvent[], limit: number, maxChars: number, expand: ExpandEventData): TaskHistoryPage {
  const events: HubEvent[] = [];
  let chars = 0;
  for (const raw of rows.slice(0, limit)) {
    const event = eventFromRaw(raw, [], expand);
    if (events.length > 0 && chars + event.data.length > maxChars) return { events, more: true };
    chars += event.data.length;
    events.push(event);
  }
  return { events, more: rows.length > limit };
}
