// The advisory lock keys taskhub takes. Constants (as strings: they are bigints) so that every hub on the database
// takes the same ones; chosen to be unlikely to clash with another application's keys on a shared database.

/** Held by each migration's transaction: hubs starting at once apply migrations one after another. */
export const MIGRATIONS_LOCK = '7310412760313856001';

/**
 * Held from before a transaction draws its first event id until it ends: event ids become visible in the order
 * they were drawn. Taken by the SQL function next_event_id() (migrations/001_init.sql, the same number), the
 * default of events.id, so that no writer can draw an id without it; the store's transactions take it earlier,
 * at their first write, so that waiting for it never holds a row lock (session.ts). docs/storage.md explains it.
 */
export const EVENTS_LOCK = '7310412760313856002';

/**
 * The first key of the two-key advisory locks opening a stream takes per agent (the second is a hash of the name):
 * the count of an agent's streams and the one added to it are decided by one hub at a time. Two-key locks live in
 * a space of their own, apart from the one-key locks above.
 */
export const PRESENCE_LOCK_CLASS = 731041276;
