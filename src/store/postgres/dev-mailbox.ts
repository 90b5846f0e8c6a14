import type { DevMailboxTable, DevMailPreview } from '../store.js';
import { mailFromRaw as fromRaw, previewFromRaw, type RawMail } from '../rows.js';
import type { Session } from './session.js';

interface RawPreview extends RawMail {
  cut: boolean;
}

/** The size a kept mail counts for, in bytes, as the SQLite store counts it. */
const SIZE_SQL = 'octet_length(subject) + octet_length(headers) + octet_length(text) + coalesce(octet_length(json), 0)';

// Previews are cut in SQL ($1 characters), so that a list never copies whole bodies out of the database.
const PREVIEW_COLUMNS = `id, sender, recipient, subject, headers, received_at,
  substr(text, 1, $1) AS text, substr(json, 1, $1) AS json,
  (length(text) > $1 OR coalesce(length(json), 0) > $1) AS cut`;

// Keeps the newest mails whose sizes add up to at most the bound, and drops every older one (none when even the
// newest is larger: then nothing qualifies and the comparison with NULL deletes nothing, as on SQLite).
const TRIM_BYTES = `DELETE FROM dev_mailbox WHERE id < (
  SELECT min(id) FROM (SELECT id, sum(${SIZE_SQL}) OVER (ORDER BY id DESC) AS total FROM dev_mailbox) sized
  WHERE total <= $1)`;

/** The dev mailbox on `s`: mail the embedded SMTP listener kept, the oldest dropped past a count and a byte bound. */
export function createDevMailboxTable(s: Session): DevMailboxTable {
  return {
    add: (mails, bounds) =>
      s.atomic(async (t) => {
        for (const mail of mails) {
          await t.count(
            `INSERT INTO dev_mailbox (sender, recipient, subject, headers, text, json, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)`,
            [mail.from, mail.to, mail.subject, JSON.stringify(mail.headers), mail.text,
              mail.json === null || mail.json === undefined ? null : JSON.stringify(mail.json), mail.receivedAt],
          );
        }
        await t.count('DELETE FROM dev_mailbox WHERE id <= (SELECT max(id) FROM dev_mailbox) - $1', [bounds.maxMails]);
        await t.count(TRIM_BYTES, [bounds.maxBytes]);
      }),

    async listPreviews({ limit, beforeId, to, previewChars }): Promise<DevMailPreview[]> {
      const before = beforeId ?? Number.MAX_SAFE_INTEGER;
      const rows =
        to === undefined
          ? await s.rows<RawPreview>(
              `SELECT ${PREVIEW_COLUMNS} FROM dev_mailbox WHERE id < $2 ORDER BY id DESC LIMIT $3`,
              [previewChars, before, limit],
            )
          : await s.rows<RawPreview>(
              `SELECT ${PREVIEW_COLUMNS} FROM dev_mailbox WHERE recipient = $4 AND id < $2 ORDER BY id DESC LIMIT $3`,
              [previewChars, before, limit, to.toLowerCase()],
            );
      return rows.map((raw) => previewFromRaw(raw, raw.cut));
    },

    async get(id) {
      const [raw] = await s.rows<RawMail>('SELECT * FROM dev_mailbox WHERE id = $1', [id]);
      return raw && fromRaw(raw);
    },
  } satisfies DevMailboxTable;
}
