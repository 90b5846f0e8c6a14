/** A message as the API shows it (one per recipient), defined once in the SDK's wire module. */
export type { Message } from '@taskhub/sdk/wire';

/** `to: "ALL"`: every agent but the sender. Agent names are lower-case, so no agent can be called this. */
export const BROADCAST = 'ALL';

/** Limits on messages, whichever front they come through; each is documented in docs/http.md. */
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
  /**
   * Characters of subject + body one send may store over all its copies (a row and an event each). It bounds
   * the time one send holds the hub (55–70 ms measured for 1000 copies of 2000 characters) so that a broadcast
   * storm does not stall other agents' requests. Lists never reach it (100 × 10,200 < 2,000,000).
   */
  fanOutChars: 2_000_000,
} as const;
