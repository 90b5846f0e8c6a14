import type { MessageTable, NewMessage } from '../store.js';
import { messageFromRaw as fromRaw, type RawMessage } from '../rows.js';
import type { Session } from './session.js';

/** The messages table on `s`: one row per recipient. */
export function createMessageTable(s: Session): MessageTable {
  const many = async (sql: string, params: readonly unknown[]) => (await s.rows<RawMessage>(sql, params)).map(fromRaw);
  const one = async (sql: string, params: readonly unknown[]) => (await many(sql, params))[0];
  const names = async (sql: string, params: readonly unknown[]) =>
    (await s.rows<{ name: string }>(sql, params)).map((r) => r.name);
  return {
    async insert(message: NewMessage) {
      const inserted = await one(
        `INSERT INTO messages (id, thread_id, sender, recipient, subject, body, in_reply_to, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [message.id, message.threadId, message.from, message.to, message.subject, message.body, message.inReplyTo,
          message.createdAt],
      );
      return inserted!;
    },

    get: (id) => one('SELECT * FROM messages WHERE id = $1', [id]),

    inbox: (query) =>
      many(
        `SELECT * FROM messages WHERE recipient = $1 AND seq > $2 ${query.unreadOnly ? 'AND read_at IS NULL' : ''}
         ORDER BY seq LIMIT $3`,
        [query.recipient, query.afterSeq ?? 0, query.limit],
      ),

    markRead: (id, at) => one('UPDATE messages SET read_at = $1 WHERE id = $2 AND read_at IS NULL RETURNING *', [at, id]),

    thread: (threadId, afterSeq, limit) =>
      many('SELECT * FROM messages WHERE thread_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [threadId, afterSeq, limit]),

    firstOfThread: (threadId) => one('SELECT * FROM messages WHERE thread_id = $1 ORDER BY seq LIMIT 1', [threadId]),

    async isParticipant(threadId, name) {
      const rows = await s.rows('SELECT 1 FROM messages WHERE thread_id = $1 AND (sender = $2 OR recipient = $2) LIMIT 1', [
        threadId,
        name,
      ]);
      return rows.length > 0;
    },

    broadcastAudience: (sender, limit) =>
      names('SELECT name FROM agents WHERE name <> $1 ORDER BY name LIMIT $2', [sender, limit]),

    participants: (threadId) =>
      names(
        `SELECT name FROM (
           SELECT sender AS name, min(seq) AS first FROM messages WHERE thread_id = $1 GROUP BY sender
           UNION ALL
           SELECT recipient AS name, min(seq) AS first FROM messages WHERE thread_id = $1 GROUP BY recipient) p
         GROUP BY name ORDER BY min(first), name`,
        [threadId],
      ),
  } satisfies MessageTable;
}
