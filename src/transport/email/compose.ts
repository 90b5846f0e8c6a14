import type { SendMailOptions } from 'nodemailer';
import type { TaskEventType } from '../../domain/task-status.js';
import type { HubEvent, Task } from '../../domain/types.js';
import type { Message } from '../../domain/message.js';
import { cut, messageText, oneLine, taskText } from './mail-text.js';
import type { ReplyAddresses } from './reply-address.js';

/** Characters of the task text in a `TASK:` subject (the contract's "cut at 80 chars"). */
export const SUBJECT_TASK_TEXT_CHARS = 80;
/** Characters of a message's subject in a mail subject; longer ones are cut (RFC 5322 advises short lines). */
export const SUBJECT_MAX_CHARS = 200;

/** The subject prefix of each task event; `task.assigned` also carries the task text. */
const SUBJECT_PREFIX: Record<TaskEventType, string> = {
  'task.assigned': 'TASK',
  'task.claimed': 'STATUS',
  'task.progress': 'STATUS',
  'task.completed': 'RESULT',
  'task.failed': 'ERROR',
  'task.cancelled': 'CANCEL',
  'task.expired': 'EXPIRED',
};

/**
 * Bytes of the `event.json` part at most. Past it the part holds a summary that says it was cut (the task's text,
 * payload and result left out) and where to read the whole task, so that no mail grows past about twice this once
 * encoded: the text part is bounded too (see mail-text.ts).
 */
export const MAIL_JSON_MAX_BYTES = 1024 * 1024;

/** The event as `event.json`: compact (pretty-printing grows with size times depth), summarised past the limit. */
export function eventJson(json: Record<string, unknown>): string {
  const whole = JSON.stringify(json);
  if (Buffer.byteLength(whole) <= MAIL_JSON_MAX_BYTES) return whole;
  const { task, message, ...rest } = json as { task?: Record<string, unknown>; message?: Record<string, unknown> };
  const lean = (value: Record<string, unknown> | undefined, drop: string[]) =>
    value && Object.fromEntries(Object.entries(value).filter(([key]) => !drop.includes(key)));
  const summary = {
    ...rest,
    ...(task && { task: lean(task, ['task', 'payload', 'result', 'error']) }),
    ...(message && { message: lean(message, ['body']) }),
    truncated: true,
    note: `The event is larger than ${MAIL_JSON_MAX_BYTES} bytes; its task's text, payload, result and error (or the message's body) were left out. Read them through the API.`,
  };
  const text = JSON.stringify(summary);
  // Only the hub's own fields are left, none of them large; the cut keeps even an odd event within the bound.
  return Buffer.byteLength(text) <= MAIL_JSON_MAX_BYTES ? text : JSON.stringify({ id: json.id, type: json.type, truncated: true });
}

/** An id or name as it may appear inside `<…@domain>` and addresses: anything but `[A-Za-z0-9._-]` removed. */
const token = (value: string) => value.replace(/[^A-Za-z0-9._-]/g, '');

export interface ComposeOptions {
  /** From of every mail (TASKHUB_MAIL_FROM). */
  from: string;
  /** Domain of Message-IDs and reply addresses (TASKHUB_MAIL_DOMAIN). */
  domain: string;
  /** This database's random id, part of every Message-ID so that no two hubs ever mint the same one. */
  instanceId: string;
  replyAddresses: ReplyAddresses;
}

/** What the outbox hands to compose: one event for one recipient. */
export interface MailItem {
  agent: string;
  email: string;
  event: HubEvent;
}

/**
 * Builds the mail for one event and one recipient: subject, `X-Taskhub-*` headers, a Message-ID with
 * In-Reply-To/References pointing at one root per task or thread (so a mail client shows them as one thread), the
 * signed Reply-To, a text part and the event as `event.json`. Every value that a user wrote and that ends up in a
 * header goes through `oneLine` (ids inside `<…>` and addresses through `token`), so no line break can start a
 * header of its own.
 */
export function createComposer(options: ComposeOptions) {
  const { domain } = options;
  const messageId = (item: MailItem) => `<e${item.event.id}.${token(item.agent)}.${token(options.instanceId)}@${domain}>`;

  const base = (item: MailItem, root: string, json: Record<string, unknown>): SendMailOptions => ({
    from: { name: 'taskhub', address: options.from },
    to: item.email,
    messageId: messageId(item),
    inReplyTo: root,
    references: [root],
    date: new Date(item.event.at),
    attachments: [{ filename: 'event.json', contentType: 'application/json', content: eventJson(json) }],
  });

  const eventHeaders = (event: HubEvent) => ({
    'X-Taskhub-Event': oneLine(event.type),
    'X-Taskhub-Event-Id': String(event.id),
    // Vacation responders must not answer: an automatic reply would otherwise complete the task.
    'Auto-Submitted': 'auto-generated',
    'X-Auto-Response-Suppress': 'All',
  });

  const composeTask = (item: MailItem, task: Task, extra: Record<string, unknown>, json: Record<string, unknown>) => {
    const prefix = `${SUBJECT_PREFIX[item.event.type as TaskEventType] ?? 'EVENT'}:${task.id}`;
    const subject =
      item.event.type === 'task.assigned' ? `${prefix} ${cut(oneLine(task.task), SUBJECT_TASK_TEXT_CHARS)}` : prefix;
    return {
      ...base(item, `<task.${token(task.id)}@${domain}>`, json),
      subject,
      replyTo: options.replyAddresses.address('task', token(task.id), item.agent),
      headers: {
        ...eventHeaders(item.event),
        'X-Taskhub-Task-Id': oneLine(task.id),
        'X-Taskhub-Priority': oneLine(task.priority),
        'X-Taskhub-Assigner': oneLine(task.assigner),
        ...(task.deadline && { 'X-Taskhub-Deadline': oneLine(task.deadline) }),
      },
      text: taskText(item.event.type, task, extra),
    };
  };

  const composeMessage = (item: MailItem, message: Message, json: Record<string, unknown>) => ({
    ...base(item, `<thread.${token(message.threadId)}@${domain}>`, json),
    subject: cut(oneLine(message.subject), SUBJECT_MAX_CHARS) || '(no subject)',
    replyTo: options.replyAddresses.address('message', token(message.id), item.agent),
    headers: {
      ...eventHeaders(item.event),
      'X-Taskhub-Message-Id': oneLine(message.id),
      'X-Taskhub-Thread-Id': oneLine(message.threadId),
      'X-Taskhub-From': oneLine(message.from),
    },
    text: messageText(message),
  });

  return {
    messageId,

    /** The nodemailer message for `item`. Throws only on an event whose data is not what the hub writes. */
    compose(item: MailItem): SendMailOptions {
      const { event } = item;
      const data = JSON.parse(event.data) as Record<string, unknown>;
      const json = { id: event.id, type: event.type, at: new Date(event.at).toISOString(), ...data };
      if (event.type === 'message') return composeMessage(item, data.message as Message, json);
      const { task, ...extra } = data as { task: Task };
      if (!task?.id) throw new Error(`event ${event.id} (${event.type}) carries neither a task nor a message`);
      return composeTask(item, task, extra, json);
    },
  };
}

export type Composer = ReturnType<typeof createComposer>;
