import type { ParsedMail } from 'mailparser';
import { HubError } from '../../domain/errors.js';
import type { Actor } from '../../domain/types.js';
import type { TaskService } from '../../hub/tasks.js';
import { oneLine } from './mail-text.js';
import type { ReplyKind } from './reply-address.js';
import { parseReplySubject, parseResult, stripReply } from './reply-body.js';

/** Bytes of a result sent by email, as the HTTP body limit. */
export const MAX_EMAIL_RESULT_BYTES = 1024 * 1024;
/** Characters of a STATUS message or an ERROR text sent by email, as over HTTP. */
export const MAX_EMAIL_TEXT_CHARS = 10_000;
/** The error recorded for an `ERROR:` reply with an empty body (the HTTP route requires one). */
export const EMPTY_ERROR_TEXT = 'failed (reported by email without details)';

/** A refusal at the SMTP level: `responseCode` is what the client is told. */
export class SmtpRefusal extends Error {
  readonly responseCode: number;
  constructor(responseCode: number, message: string) {
    // Replies are one line; a message that came from anywhere else must not break the SMTP reply.
    super(oneLine(message).slice(0, 400));
    this.name = 'SmtpRefusal';
    this.responseCode = responseCode;
  }
}

/** Called for a reply to a message's reply address; it records the reply as a message in that thread. */
export type MessageReplyHook = (
  agent: string,
  messageId: string,
  reply: { subject: string; body: string },
) => Promise<unknown>;

export type TaskActions = Pick<TaskService, 'claim' | 'progress' | 'complete' | 'fail'>;

/** A reply address whose signature checked for the sender's agent. */
export interface ReplyTarget {
  kind: 'reply';
  replyKind: ReplyKind;
  id: string;
  agent: string;
}

/** `Precedence` values of mail sent by a program (RFC 2076, RFC 3834 §5). */
const AUTOMATIC_PRECEDENCE = ['auto_reply', 'bulk', 'junk', 'list'];

/**
 * Why a mail is automatic, or undefined when it is not: vacation notices, mailing-list copies and bounces must not
 * act on a task (an "I'm away" would complete it). The empty return path of a bounce is checked at RCPT (inbound.ts).
 */
export function automaticReason(mail: ParsedMail): string | undefined {
  const header = (name: string) => String(mail.headers.get(name) ?? '').toLowerCase();
  const autoSubmitted = header('auto-submitted');
  if (autoSubmitted !== '' && autoSubmitted !== 'no') return `it is marked Auto-Submitted: ${autoSubmitted}`;
  if (AUTOMATIC_PRECEDENCE.includes(header('precedence'))) return `it is marked Precedence: ${header('precedence')}`;
  if (mail.headers.has('x-autoreply')) return 'it is marked X-Autoreply';
  if (mail.headers.has('x-autorespond')) return 'it is marked X-Autorespond';
  // mailparser gathers the List-* headers into one `list` entry keyed by what follows the dash.
  const list = mail.headers.get('list') as { id?: unknown } | undefined;
  if (mail.headers.has('list-id') || list?.id !== undefined) return 'it came through a mailing list (List-Id)';
  const type = (mail.headers.get('content-type') as { value?: string } | undefined)?.value?.toLowerCase();
  if (type === 'multipart/report') return 'it is a delivery status report (multipart/report)';
  return undefined;
}

function limitText(text: string, what: string): string {
  if (text.length > MAX_EMAIL_TEXT_CHARS) {
    throw new SmtpRefusal(550, `5.3.4 The ${what} is longer than ${MAX_EMAIL_TEXT_CHARS} characters`);
  }
  return text;
}

async function actOnTask(tasks: TaskActions, actor: Actor, id: string, mail: ParsedMail): Promise<void> {
  const subject = parseReplySubject(mail.subject ?? '');
  if (subject.id !== undefined && subject.id !== id) {
    throw new SmtpRefusal(550, `5.7.1 The subject names task ${subject.id} but the mail went to the reply address of task ${id}`);
  }
  const body = stripReply(mail.text ?? '');
  switch (subject.command) {
    case 'ack':
      await tasks.claim(actor, id);
      return;
    case 'status': {
      const message = limitText(body, 'status message');
      await tasks.progress(actor, id, message === '' ? {} : { message });
      return;
    }
    case 'error':
      await tasks.fail(actor, id, limitText(body, 'error text') || EMPTY_ERROR_TEXT);
      return;
    case 'result':
    case 'reply':
      if (Buffer.byteLength(body) > MAX_EMAIL_RESULT_BYTES) {
        throw new SmtpRefusal(550, `5.3.4 The result is larger than ${MAX_EMAIL_RESULT_BYTES} bytes`);
      }
      await tasks.complete(actor, id, parseResult(body));
  }
}

/**
 * Acts on a verified reply: a task reply claims, reports progress on, completes or fails the task through the task
 * service, with the agent as the actor, so every rule of the HTTP routes applies; a message reply goes to the
 * hook. Whatever the hub refuses becomes a `550` and changes nothing.
 */
export async function applyReply(
  tasks: TaskActions,
  onMessageReply: MessageReplyHook | undefined,
  target: ReplyTarget,
  mail: ParsedMail,
  sender: string,
): Promise<void> {
  const from = mail.from?.value[0]?.address?.toLowerCase();
  if (from !== sender) {
    throw new SmtpRefusal(550, `5.7.1 The From header <${from ?? ''}> differs from the envelope sender <${sender}>`);
  }
  const automatic = automaticReason(mail);
  if (automatic) throw new SmtpRefusal(550, `5.7.1 Automatic mail is not taken (${automatic}); reply in person`);
  const actor: Actor = { name: target.agent, role: 'agent' };
  try {
    if (target.replyKind === 'task') {
      await actOnTask(tasks, actor, target.id, mail);
      return;
    }
    if (!onMessageReply) throw new SmtpRefusal(550, '5.3.3 Replies to messages are not taken by this hub');
    await onMessageReply(target.agent, target.id, { subject: oneLine(mail.subject ?? ''), body: stripReply(mail.text ?? '') });
  } catch (error) {
    if (error instanceof HubError) {
      // A full hub or a rate limit passes; the sending server retries a 4xx later on its own.
      const temporary = error.code === 'rate_limited' || error.code === 'overloaded' || error.code === 'shutting_down';
      throw new SmtpRefusal(temporary ? 451 : 550, `${temporary ? '4.7.1' : '5.7.1'} ${error.message}`);
    }
    throw error;
  }
}
