// The LISTEN/NOTIFY channels the hubs on one database share. Notifications only wake a hub, which then reads
// what changed from the tables; a payload is never taken as data.

/** Notified (once, at commit) by a transaction that wrote events; the payload names the writing store. */
export const EVENTS_CHANNEL = 'taskhub_events';

/** Notified by a transaction that changes an agent's token version, or its existence; the payload is the name. */
export const TOKENS_CHANNEL = 'taskhub_tokens';
