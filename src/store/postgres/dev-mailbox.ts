import type { DevMail, DevMailboxTable } from '../store.js';
import type { Session } from './session.js';

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

/** The dev mailbox on `s`: the newest rows beyond a cap are dropped on insert. */
export function createDevMailboxTable(s: Session): DevMailboxTable {
  return {
    add: (mails, cap) =>
      s.atomic(async (t) => {
        for (const mail of mails) {
          await t.count(
            `INSERT INTO dev_mailbox (sender, recipient, subject, headers, text, json, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)`,
            [mail.from, mail.to, mail.subject, JSON.stringify(mail.headers), mail.text,
              mail.json === null || mail.json === undefined ? null : JSON.stringify(mail.json), mail.receivedAt],
          );
        }
        await t.count('DELETE FROM dev_mailbox WHERE id <= (SELECT max(id) FROM dev_mailbox) - $1', [cap]);
      }),

    async list(limit, to) {
      const rows =
        to === undefined
          ? await s.rows<RawMail>('SELECT * FROM dev_mailbox ORDER BY id DESC LIMIT $1', [limit])
          : await s.rows<RawMail>('SELECT * FROM dev_mailbox WHERE recipient = $1 ORDER BY id DESC LIMIT $2', [
              to.toLowerCase(),
              limit,
            ]);
      return rows.reverse().map(fromRaw);
    },
  } satisfies DevMailboxTable;
}
