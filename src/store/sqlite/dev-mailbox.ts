import type { DevMail, DevMailboxTable, NewDevMail } from '../store.js';
import type { Db } from './db.js';
import type { SyncTable } from './sync.js';

interface RawMail {
  id: number;
  sender: string;
  recipient: string;
  subject: string;
  headers: string;
  text: string;
  json: string | null;
  received_at: number;
}

const fromRaw = (raw: RawMail): DevMail => ({
  id: raw.id,
  from: raw.sender,
  to: raw.recipient,
  subject: raw.subject,
  headers: JSON.parse(raw.headers) as Record<string, string>,
  text: raw.text,
  json: raw.json === null ? null : JSON.parse(raw.json),
  receivedAt: raw.received_at,
});

/** The dev mailbox table: mail the embedded SMTP listener kept, newest rows beyond a cap dropped on insert. */
export function createDevMailboxTable(db: Db): SyncTable<DevMailboxTable> {
  const q = {
    insert: db.prepare(
      `INSERT INTO dev_mailbox (sender, recipient, subject, headers, text, json, received_at)
       VALUES (@from, @to, @subject, @headers, @text, @json, @receivedAt)`,
    ),
    trim: db.prepare(`DELETE FROM dev_mailbox WHERE id <= (SELECT max(id) FROM dev_mailbox) - ?`),
    newest: db.prepare<[number], RawMail>('SELECT * FROM dev_mailbox ORDER BY id DESC LIMIT ?'),
    newestTo: db.prepare<[string, number], RawMail>(
      'SELECT * FROM dev_mailbox WHERE recipient = ? ORDER BY id DESC LIMIT ?',
    ),
  };

  const ops = {
    /** Stores the mails and drops the oldest beyond `cap` rows. */
    add(mails: readonly NewDevMail[], cap: number): void {
      for (const mail of mails) {
        q.insert.run({
          ...mail,
          headers: JSON.stringify(mail.headers),
          json: mail.json === null || mail.json === undefined ? null : JSON.stringify(mail.json),
        });
      }
      q.trim.run(cap);
    },

    /** The newest `limit` mails (to `to` when given, compared in lower case), oldest first. */
    list(limit: number, to?: string): DevMail[] {
      const rows = to === undefined ? q.newest.all(limit) : q.newestTo.all(to.toLowerCase(), limit);
      return rows.reverse().map(fromRaw);
    },
  };
  return { ops, writes: ['add'] };
}
