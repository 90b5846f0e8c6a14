/** A message as the API shows it: one per recipient. Times are ISO-8601 UTC strings; absent values are `null`. */
export interface Message {
  id: string;
  threadId: string;
  from: string;
  to: string;
  subject: string;
  body: string;
  inReplyTo: string | null;
  createdAt: string;
  readAt: string | null;
}

/** `to: "ALL"`: every agent but the sender. Agent names are lower-case, so no agent can be called this. */
export const BROADCAST = 'ALL';

/** Limits on messages, whichever front they come through; each is documented in docs/api.md. */
export const MESSAGE_LIMITS = {
  /** Characters of a subject (at least 1). */
  subject: 200,
  /** Characters of a body (may be empty). */
  body: 10_000,
  /** Names in a `to` list. */
  listRecipients: 100,
  /**
   * Agents a broadcast may reach: with more agents than this, `"ALL"` is refused (`422 too_many_recipients`)
   * instead of blocking the hub for the others while it writes a row and an event for each.
   */
  broadcastRecipients: 1000,
} as const;
