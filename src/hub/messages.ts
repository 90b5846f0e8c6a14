import { randomUUID } from 'node:crypto';
import { HubError, notFound, type ErrorDetail, type RateLimitStatus } from '../domain/errors.js';
import { BROADCAST, MESSAGE_LIMITS, type Message } from '../domain/message.js';
import { toIso, type Actor } from '../domain/types.js';
import type { MessageRecord, Store, StoreTables } from '../store/store.js';
import type { Change, ChangeRecorder } from './changes.js';
import type { RateLimits } from './rate-limit.js';

export interface SendInput {
  /** One agent, a list of agents, or `"ALL"` (every agent but the sender). */
  to: string | readonly string[];
  subject: string;
  body: string;
  /** A message the sender can see; the new messages join its thread. */
  inReplyTo?: string;
}

export interface PageQuery {
  limit: number;
  cursor?: string;
}

export interface InboxQuery extends PageQuery {
  unread?: boolean;
  markRead?: boolean;
}

export interface MessageSettings {
  /** Agents a broadcast may reach. Default `MESSAGE_LIMITS.broadcastRecipients` (1000). */
  maxBroadcastRecipients?: number;
  /** Characters of subject + body one send may store over all its copies. Default `MESSAGE_LIMITS.fanOutChars`. */
  fanOutChars?: number;
}

interface Deps {
  store: Store;
  changes: ChangeRecorder;
  rateLimits: RateLimits;
  now: () => number;
}

/** The API's view of a stored message. */
export function presentMessage(record: MessageRecord): Message {
  return {
    id: record.id,
    threadId: record.threadId,
    from: record.from,
    to: record.to,
    subject: record.subject,
    body: record.body,
    inReplyTo: record.inReplyTo,
    createdAt: toIso(record.createdAt) as string,
    readAt: toIso(record.readAt),
  };
}

const encodeCursor = (seq: number) => Buffer.from(String(seq)).toString('base64url');
function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const seq = Number(Buffer.from(cursor, 'base64url').toString());
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new HubError('validation_failed', 'The cursor is not one this hub issued.', {
      details: [{ path: 'cursor', message: 'unknown cursor' }],
    });
  }
  return seq;
}

/** One page of rows fetched with `limit + 1`: the page and the cursor of the next one. */
function paginate(rows: MessageRecord[], limit: number) {
  const page = rows.slice(0, limit);
  return { page, nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.seq) : null };
}

/** A backstop for fronts that do not validate as HTTP does (an emailed reply): the same limits. */
function checkContent(input: SendInput): void {
  const details: ErrorDetail[] = [];
  if (input.subject.length < 1 || input.subject.length > MESSAGE_LIMITS.subject) {
    details.push({ path: 'subject', message: `must be 1 to ${MESSAGE_LIMITS.subject} characters` });
  }
  if (input.body.length > MESSAGE_LIMITS.body) {
    details.push({ path: 'body', message: `must be at most ${MESSAGE_LIMITS.body} characters` });
  }
  if (details.length) {
    const why = details.map((d) => `${d.path} ${d.message}`).join('; ');
    throw new HubError('validation_failed', `The message is not valid: ${why}.`, { details });
  }
}

/**
 * Messages between agents: sending (to one, a list or everyone), the inbox, read marks and threads. Each stored
 * message is one row per recipient plus a `message` event to that recipient, written in one transaction.
 */
export function createMessageService({ store, changes, rateLimits, now }: Deps, settings: MessageSettings = {}) {
  const maxBroadcast = settings.maxBroadcastRecipients ?? MESSAGE_LIMITS.broadcastRecipients;
  const fanOutChars = settings.fanOutChars ?? MESSAGE_LIMITS.fanOutChars;

  /** Admins read every thread; anyone else only threads they sent or received a message in. */
  const canSeeThread = async (tables: StoreTables, actor: Actor, threadId: string) =>
    actor.role === 'admin' || (await tables.messages.isParticipant(threadId, actor.name));

  /** The message if the actor may see it (read through a change's tx or the store); `404` otherwise. */
  const loadVisible = async (tables: StoreTables, actor: Actor, id: string): Promise<MessageRecord> => {
    const message = await tables.messages.get(id);
    if (!message || !(await canSeeThread(tables, actor, message.threadId))) throw notFound(`Message ${id}`);
    return message;
  };

  const broadcastAudience = async (tx: StoreTables, actor: Actor): Promise<string[]> => {
    const names = await tx.messages.broadcastAudience(actor.name, maxBroadcast + 1);
    if (names.length > maxBroadcast) {
      throw new HubError(
        'too_many_recipients',
        `"ALL" would reach more than ${maxBroadcast} agents, the most one message may; send to lists instead.`,
      );
    }
    return names;
  };

  /**
   * Every name must be an agent, except that a reply may go to the sender of the message it answers even when
   * that is not an agent (an admin), so that agents can answer the operator.
   */
  const resolveList = async (tx: StoreTables, names: readonly string[], parent: MessageRecord | undefined) => {
    const unique = [...new Set(names)];
    const unknown: string[] = [];
    for (const name of unique) if (name !== parent?.from && !(await tx.agents.get(name))) unknown.push(name);
    if (unknown.length) {
      const details = unknown.map((name) => ({
        path: `to[${names.indexOf(name)}]`,
        message: `there is no agent named "${name}"`,
      }));
      const list = unknown.map((name) => `"${name}"`).join(', ');
      throw new HubError('unknown_agent', `No agent is called ${list}; check the names in "to".`, { details });
    }
    return unique;
  };

  const checkFanOut = (input: SendInput, recipients: readonly string[]) => {
    const chars = recipients.length * (input.subject.length + input.body.length);
    if (chars > fanOutChars) {
      throw new HubError(
        'too_many_recipients',
        `This send would store ${recipients.length} copies of ${input.subject.length + input.body.length} characters; ` +
          `one send may store at most ${fanOutChars} in all. Shorten the body or send to fewer agents at a time.`,
      );
    }
  };

  const storeOne = async (change: Change, actor: Actor, input: SendInput, to: string, threadId: string,
    createdAt: number): Promise<Message> => {
    const message = presentMessage(
      await change.tx.messages.insert({
        id: randomUUID(),
        threadId,
        from: actor.name,
        to,
        subject: input.subject,
        body: input.body,
        inReplyTo: input.inReplyTo ?? null,
        createdAt,
      }),
    );
    await change.emit({
      type: 'message',
      at: createdAt,
      taskId: null,
      recipients: [to],
      data: JSON.stringify({ messageId: message.id, message }),
    });
    return message;
  };

  const send = async (actor: Actor, input: SendInput): Promise<{ messages: Message[]; rateLimits: RateLimitStatus[] }> => {
    checkContent(input);
    const kind = input.to === BROADCAST ? 'broadcast' : 'message';
    // Refuse a sender over its limit before any read or write, so that a storm costs the hub next to nothing.
    await rateLimits.check(store, actor, kind);
    return changes.run(async (change) => {
      const { tx } = change;
      const parent = input.inReplyTo === undefined ? undefined : await loadVisible(tx, actor, input.inReplyTo);
      const list = typeof input.to === 'string' ? [input.to] : input.to;
      const recipients = input.to === BROADCAST ? await broadcastAudience(tx, actor) : await resolveList(tx, list, parent);
      checkFanOut(input, recipients);
      const limits = await rateLimits.admit(tx, actor, kind);
      const threadId = parent?.threadId ?? randomUUID();
      const createdAt = now();
      const messages: Message[] = [];
      for (const to of recipients) messages.push(await storeOne(change, actor, input, to, threadId, createdAt));
      return { messages, rateLimits: limits };
    });
  };

  return {
    /**
     * Stores one message per recipient, all in one thread (a new one, or that of `inReplyTo`), each with a
     * `message` event to its recipient. Counts once toward the sender's rate limit, and a broadcast once more
     * toward the broadcast limit. Admins send under their token's `sub`.
     * @throws HubError `rate_limited` (nothing stored), `unknown_agent`, `too_many_recipients` (over the
     *   broadcast cap or the fan-out budget), `not_found` for an `inReplyTo` the sender cannot see,
     *   `validation_failed`.
     */
    send,

    /**
     * Answers a message: to its sender (or, answering one's own message, to its recipient), in its thread. The
     * subject defaults to "Re: " and the original's. This is what an emailed reply to a message becomes.
     */
    async reply(actor: Actor, messageId: string, content: { subject?: string; body: string }): Promise<Message[]> {
      const parent = await loadVisible(store, actor, messageId);
      const to = parent.from === actor.name ? parent.to : parent.from;
      // Mail subjects are free-form: an over-long one is cut rather than the reply refused.
      const subject = (content.subject?.trim() || `Re: ${parent.subject}`).slice(0, MESSAGE_LIMITS.subject);
      return (await send(actor, { to, subject, body: content.body, inReplyTo: parent.id })).messages;
    },

    /** The message if the actor may see it (a participant of its thread, or an admin); `404` otherwise. */
    async get(actor: Actor, id: string): Promise<Message> {
      return presentMessage(await loadVisible(store, actor, id));
    },

    /**
     * The actor's messages, oldest first from the cursor; with `markRead`, the page's unread messages are marked
     * read in the same transaction and shown with their `readAt`.
     */
    async inbox(actor: Actor, query: InboxQuery): Promise<{ messages: Message[]; nextCursor: string | null }> {
      const afterSeq = decodeCursor(query.cursor);
      const read = async (tables: StoreTables) => {
        const rows = await tables.messages.inbox({
          recipient: actor.name,
          unreadOnly: query.unread ?? false,
          afterSeq,
          limit: query.limit + 1,
        });
        const { page, nextCursor } = paginate(rows, query.limit);
        const at = now();
        const shown: MessageRecord[] = [];
        for (const m of page) shown.push(query.markRead && m.readAt === null ? ((await tables.messages.markRead(m.id, at)) ?? m) : m);
        return { messages: shown.map(presentMessage), nextCursor };
      };
      // Only marking read writes: a plain read needs no transaction.
      return query.markRead ? store.transaction(read) : read(store);
    },

    /** Marks a message read (keeping the first `readAt`); recipient only: `403` for other participants. */
    markRead(actor: Actor, id: string): Promise<Message> {
      return store.transaction(async (tx) => {
        const message = await loadVisible(tx, actor, id);
        if (message.to !== actor.name) {
          throw new HubError('forbidden', `Only the recipient (${message.to}) may mark this message read.`);
        }
        return presentMessage((await tx.messages.markRead(id, now())) ?? message);
      });
    },

    /** The thread, oldest message first, for its participants and admins; `404` for anyone else. */
    async thread(actor: Actor, threadId: string, query: PageQuery) {
      const afterSeq = decodeCursor(query.cursor);
      const first = await store.messages.firstOfThread(threadId);
      if (!first || !(await canSeeThread(store, actor, threadId))) throw notFound(`Thread ${threadId}`);
      const rows = await store.messages.thread(threadId, afterSeq, query.limit + 1);
      const { page, nextCursor } = paginate(rows, query.limit);
      return {
        threadId,
        subject: first.subject,
        participants: await store.messages.participants(threadId),
        messages: page.map(presentMessage),
        nextCursor,
      };
    },
  };
}

export type MessageService = ReturnType<typeof createMessageService>;
