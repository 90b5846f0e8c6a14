import type { DevMail, DevMailboxBounds, DevMailboxTable, DevMailPreview, NewDevMail } from '../store.js';
import { mailFromRaw as fromRaw, previewFromRaw, type RawMail } from '../rows.js';
import type { Db } from './db.js';
import type { SyncTable } from './sync.js';

interface RawPreview extends RawMail {
  cut: number;
}

/** The size a kept mail counts for; octet_length reads a value's size without loading it. */
const SIZE_SQL = 'octet_length(subject) + octet_length(headers) + octet_length(text) + coalesce(octet_length(json), 0)';

/** The dev mailbox table: mail the embedded SMTP listener kept, the oldest dropped past a count and a byte bound. */
export function createDevMailboxTable(db: Db): SyncTable<DevMailboxTable> {
  // Previews are cut in SQL, so that a list never copies whole bodies out of the database.
  const previewColumns = `id, sender, recipient, subject, headers, received_at,
    substr(text, 1, @chars) AS text, substr(json, 1, @chars) AS json,
    (length(text) > @chars OR coalesce(length(json), 0) > @chars) AS cut`;
  const q = {
    insert: db.prepare(
      `INSERT INTO dev_mailbox (sender, recipient, subject, headers, text, json, received_at)
       VALUES (@from, @to, @subject, @headers, @text, @json, @receivedAt)`,
    ),
    trimCount: db.prepare(`DELETE FROM dev_mailbox WHERE id <= (SELECT max(id) FROM dev_mailbox) - ?`),
    // Keeps the newest mails whose sizes add up to at most the bound, and drops every older one.
    trimBytes: db.prepare<[number]>(
      `DELETE FROM dev_mailbox WHERE id < (
         SELECT min(id) FROM (SELECT id, sum(${SIZE_SQL}) OVER (ORDER BY id DESC) AS total FROM dev_mailbox)
         WHERE total <= ?)`,
    ),
    page: db.prepare<{ chars: number; before: number; limit: number }, RawPreview>(
      `SELECT ${previewColumns} FROM dev_mailbox WHERE id < @before ORDER BY id DESC LIMIT @limit`,
    ),
    pageTo: db.prepare<{ chars: number; before: number; limit: number; to: string }, RawPreview>(
      `SELECT ${previewColumns} FROM dev_mailbox WHERE recipient = @to AND id < @before ORDER BY id DESC LIMIT @limit`,
    ),
    get: db.prepare<[number], RawMail>('SELECT * FROM dev_mailbox WHERE id = ?'),
  };

  const ops = {
    /** Stores the mails and drops the oldest past the bounds. */
    add(mails: readonly NewDevMail[], bounds: DevMailboxBounds): void {
      for (const mail of mails) {
        q.insert.run({
          ...mail,
          headers: JSON.stringify(mail.headers),
          json: mail.json === null || mail.json === undefined ? null : JSON.stringify(mail.json),
        });
      }
      q.trimCount.run(bounds.maxMails);
      q.trimBytes.run(bounds.maxBytes);
    },

    /**
     * Up to `limit` mails older than `beforeId` (default: the newest), newest first, to `to` when given (compared
     * in lower case), with `text` and the JSON text cut at `previewChars`.
     */
    listPreviews(query: { limit: number; beforeId?: number; to?: string; previewChars: number }): DevMailPreview[] {
      const params = { chars: query.previewChars, before: query.beforeId ?? Number.MAX_SAFE_INTEGER, limit: query.limit };
      const rows = query.to === undefined ? q.page.all(params) : q.pageTo.all({ ...params, to: query.to.toLowerCase() });
      return rows.map((raw) => previewFromRaw(raw, raw.cut === 1));
    },

    /** One whole mail, or undefined. */
    get(id: number): DevMail | undefined {
      const raw = q.get.get(id);
      return raw && fromRaw(raw);
    },
  };
  return { ops, writes: ['add'] };
}
