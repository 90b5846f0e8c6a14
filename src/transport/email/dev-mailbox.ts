import type { ParsedMail } from 'mailparser';
import type { DevMail, DevMailboxTable, NewDevMail } from '../../store/store.js';

/** Mails the dev mailbox keeps; older ones are dropped as new ones arrive. */
export const DEV_MAILBOX_CAP = 1000;

/** A parsed header value as one string: addresses as their text, dates in ISO form, structured values flattened. */
function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(headerText).join(', ');
  if (value && typeof value === 'object') {
    const v = value as { text?: unknown; value?: unknown; params?: Record<string, string> };
    if (typeof v.text === 'string') return v.text;
    if (typeof v.value === 'string') {
      const params = Object.entries(v.params ?? {}).map(([k, p]) => `; ${k}=${p}`);
      return `${v.value}${params.join('')}`;
    }
  }
  return String(value);
}

/** The `event.json` part of a taskhub mail, parsed; `null` when there is none or it is not JSON. */
export function eventJsonOf(mail: ParsedMail): unknown {
  const part = mail.attachments.find((a) => a.filename === 'event.json' || a.contentType === 'application/json');
  if (!part) return null;
  try {
    return JSON.parse(part.content.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

/** What the dev mailbox keeps of a parsed mail for one envelope recipient. */
export function toDevMail(mail: ParsedMail, envelope: { from: string; to: string }, receivedAt: number): NewDevMail {
  const headers: Record<string, string> = {};
  for (const [key, value] of mail.headers) headers[key] = headerText(value);
  return {
    from: mail.from?.value[0]?.address ?? envelope.from,
    to: envelope.to.toLowerCase(),
    subject: mail.subject ?? '',
    headers,
    text: mail.text ?? '',
    json: eventJsonOf(mail),
    receivedAt,
  };
}

/** The API's view of a kept mail. */
export function presentDevMail(mail: DevMail) {
  return { ...mail, receivedAt: new Date(mail.receivedAt).toISOString() };
}

/** The dev mailbox: mail the embedded listener caught because no TASKHUB_SMTP_URL was set, capped at `cap`. */
export function createDevMailbox(store: DevMailboxTable, cap = DEV_MAILBOX_CAP) {
  return {
    cap,
    /** Keeps the mails; resolves once they are committed (the SMTP `250` waits for that). */
    async add(mails: readonly NewDevMail[]): Promise<void> {
      if (mails.length > 0) await store.add(mails, cap);
    },
    /** The newest `limit` mails, oldest first, optionally only those to `to`. */
    async list(limit: number, to?: string) {
      return (await store.list(limit, to)).map(presentDevMail);
    },
  };
}

export type DevMailbox = ReturnType<typeof createDevMailbox>;
