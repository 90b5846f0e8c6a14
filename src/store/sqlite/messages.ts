import type { InboxQuery, MessageRecord, MessageTable, NewMessage } from '../store.js';
import { messageFromRaw as fromRaw, type RawMessage } from '../rows.js';
import type { Db } from './db.js';
import type { SyncTable } from './sync.js';

/** Messages, one row per recipient. */
export function createMessageTable(db: Db): SyncTable<MessageTable> {
  const q = {
    insert: db.prepare<unknown[], RawMessage>(
      `INSERT INTO messages (id, thread_id, sender, recipient, subject, body, in_reply_to, created_at)
       VALUES (@id, @threadId, @from, @to, @subject, @body, @inReplyTo, @createdAt) RETURNING *`,
    ),
    get: db.prepare<[string], RawMessage>('SELECT * FROM messages WHERE id = ?'),
    inbox: db.prepare<[string, number, number], RawMessage>(
      'SELECT * FROM messages WHERE recipient = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    unread: db.prepare<[string, number, number], RawMessage>(
      'SELECT * FROM messages WHERE recipient = ? AND seq > ? AND read_at IS NULL ORDER BY seq LIMIT ?',
    ),
    markRead: db.prepare<[number, string], RawMessage>(
      'UPDATE messages SET read_at = ? WHERE id = ? AND read_at IS NULL RETURNING *',
    ),
    thread: db.prepare<[string, number, number], RawMessage>(
      'SELECT * FROM messages WHERE thread_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    first: db.prepare<[string], RawMessage>('SELECT * FROM messages WHERE thread_id = ? ORDER BY seq LIMIT 1'),
    isParticipant: db.prepare<[string, string, string], number>(
      'SELECT 1 FROM messages WHERE thread_id = ? AND (sender = ? OR recipient = ?) LIMIT 1',
    ),
    participants: db.prepare<[string, string], string>(
      `SELECT name FROM (
         SELECT sender AS name, min(seq) AS first FROM messages WHERE thread_id = ? GROUP BY sender
         UNION ALL
         SELECT recipient AS name, min(seq) AS first FROM messages WHERE thread_id = ? GROUP BY recipient)
       GROUP BY name ORDER BY min(first), name`,
    ),
    // Reads the agents table: who "ALL" reaches is a question about messages, asked only here.
    audience: db.prepare<[string, number], string>('SELECT name FROM agents WHERE name <> ? ORDER BY name LIMIT ?'),
  };
  for (const stmt of [q.isParticipant, q.participants, q.audience]) stmt.pluck();

  const ops = {
    /** Inserts the copies of one send; callers run it inside the transaction that emits their events. */
    insert(message: NewMessage): MessageRecord {
      return fromRaw(q.insert.get(message) as RawMessage);
    },

    get(id: string): MessageRecord | undefined {
      const raw = q.get.get(id);
      return raw && fromRaw(raw);
    },

    /** The recipient's messages after the cursor, oldest first, at most `limit`. */
    inbox(query: InboxQuery): MessageRecord[] {
      const stmt = query.unreadOnly ? q.unread : q.inbox;
      return stmt.all(query.recipient, query.afterSeq ?? 0, query.limit).map(fromRaw);
    },

    /** Sets `read_at` if it is not set yet; the updated message, or `undefined` when it was already read. */
    markRead(id: string, at: number): MessageRecord | undefined {
      const raw = q.markRead.get(at, id);
      return raw && fromRaw(raw);
    },

    /** The thread's messages after the cursor, oldest first, at most `limit`. */
    thread(threadId: string, afterSeq: number, limit: number): MessageRecord[] {
      return q.thread.all(threadId, afterSeq, limit).map(fromRaw);
    },

    /** The message that started the thread; `undefined` for an unknown thread. */
    firstOfThread(threadId: string): MessageRecord | undefined {
      const raw = q.first.get(threadId);
      return raw && fromRaw(raw);
    },

    /** True when `name` sent or received any message of the thread. */
    isParticipant(threadId: string, name: string): boolean {
      return q.isParticipant.get(threadId, name, name) !== undefined;
    },

    /** Every agent but `sender`, by name, at most `limit`: the recipients of a broadcast. */
    broadcastAudience(sender: string, limit: number): string[] {
      return q.audience.all(sender, limit) as string[];
    },

    /** Everyone who sent or received a message of the thread, in order of first appearance. */
    participants(threadId: string): string[] {
      return q.participants.all(threadId, threadId) as string[];
    },
  };
  return { ops, writes: ['insert', 'markRead'] };
}
