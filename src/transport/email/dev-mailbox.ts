import type { ParsedMail } from 'mailparser';
import type { DevMail, DevMailboxTable, DevMailPreview, NewDevMail } from '../../store/store.js';

/** Mails the dev mailbox keeps; older ones are dropped as new ones arrive. */
export const DEV_MAILBOX_CAP = 1000;
/** Bytes the dev mailbox keeps (subject, headers, text and JSON of every mail); the oldest mails go first past it. */
export const DEV_MAILBOX_MAX_BYTES = 32 * 1024 * 1024;
/** Characters of a mail's text and of its `event.json` text in `GET /api/mailbox` lists. */
export const MAILBOX_PREVIEW_CHARS = 2000;

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

/** Characters of a header value shown in lists; `GET /api/mailbox/:id` has them whole. */
const PREVIEW_HEADER_CHARS = 1000;

/**
 * A list's view of a kept mail: `text` cut to the preview; `json` the parsed `event.json` when its text fits the
 * preview, else that text cut (a string); header values cut at 1,000 characters; `truncated: true` when anything
 * was cut (absent otherwise).
 */
export function presentPreview(mail: DevMailPreview) {
  let truncated = mail.cut;
  let json: unknown = null;
  if (mail.jsonText !== null) {
    try {
      json = JSON.parse(mail.jsonText) as unknown;
    } catch {
      json = mail.jsonText;
      truncated = true;
    }
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(mail.headers)) {
    if (value.length > PREVIEW_HEADER_CHARS) truncated = true;
    headers[name] = value.slice(0, PREVIEW_HEADER_CHARS);
  }
  return {
    id: mail.id,
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    headers,
    text: mail.text,
    json,
    receivedAt: new Date(mail.receivedAt).toISOString(),
    ...(truncated && { truncated: true as const }),
  };
}

export interface DevMailboxOptions {
  /** Mails kept; older ones are dropped as new ones arrive. Default `DEV_MAILBOX_CAP` (1000). */
  maxMails?: number;
  /** Bytes kept (subject, headers, text and JSON of every mail). Default `DEV_MAILBOX_MAX_BYTES` (32 MiB). */
  maxBytes?: number;
  /** Characters of `text` and of the JSON text in lists. Default `MAILBOX_PREVIEW_CHARS` (2000). */
  previewChars?: number;
}

/**
 * The dev mailbox: mail the embedded listener caught because no TASKHUB_SMTP_URL was set, bounded in count and in
 * bytes, the oldest dropped first.
 */
export function createDevMailbox(store: DevMailboxTable, options: DevMailboxOptions = {}) {
  const bounds = { maxMails: options.maxMails ?? DEV_MAILBOX_CAP, maxBytes: options.maxBytes ?? DEV_MAILBOX_MAX_BYTES };
  const previewChars = options.previewChars ?? MAILBOX_PREVIEW_CHARS;
  return {
    bounds,
    /** Keeps the mails; resolves once they are committed (the SMTP `250` waits for that). */
    async add(mails: readonly NewDevMail[]): Promise<void> {
      if (mails.length > 0) await store.add(mails, bounds);
    },
    /**
     * One page of previews, newest last: the `limit` mails before `beforeId` (default: the newest ones), optionally
     * only those to `to`. `olderId` is where the next (older) page starts, or undefined when there is none.
     */
    async list(query: { limit: number; beforeId?: number; to?: string }) {
      const rows = await store.listPreviews({ ...query, limit: query.limit + 1, previewChars });
      const page = rows.slice(0, query.limit);
      return { mails: page.reverse().map(presentPreview), olderId: rows.length > query.limit ? page[0]!.id : undefined };
    },
    /** One whole mail, or undefined. */
    async get(id: number) {
      const mail = await store.get(id);
      return mail && presentDevMail(mail);
    },
  };
}

export type DevMailbox = ReturnType<typeof createDevMailbox>;
