import type { HubEvent } from '../../domain/types.js';

/**
 * An event as one JSON object, `{"id","type","at",...data}`: the SSE `data:` line, and the body of a webhook
 * delivery. The event's own fields were serialised once when it was recorded; here they are only spliced in.
 */
export function eventJson(event: HubEvent): string {
  const head = `{"id":${event.id},"type":${JSON.stringify(event.type)},"at":"${new Date(event.at).toISOString()}"`;
  return event.data.length > 2 ? `${head},${event.data.slice(1)}` : `${head}}`;
}

/** The SSE frame of an event: `id`, `event` and one `data` line holding `eventJson(event)`. */
export function eventFrame(event: HubEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${eventJson(event)}\n\n`;
}

/**
 * The first frame of every stream. Once any event exists it carries `id: <lastEventId>` (the id the stream
 * continues after), so that a client that drops before its first event resumes from there instead of from
 * nothing; before the first event there is no id to carry (an `id: 0` would resume nowhere different).
 */
export function readyFrame(agent: string, lastEventId: number): string {
  const id = lastEventId > 0 ? `id: ${lastEventId}\n` : '';
  return `${id}event: ready\ndata: ${JSON.stringify({ type: 'ready', agent, lastEventId })}\n\n`;
}

/**
 * Sent instead of a replay the hub can no longer give. Its `id` is the newest event id, so that a client that
 * reconnects after it resumes from there instead of being reset again.
 */
export function resetFrame(lastEventId: number): string {
  return `id: ${lastEventId}\nevent: reset\ndata: ${JSON.stringify({ type: 'reset', lastEventId })}\n\n`;
}

export const PING_FRAME = ': ping\n\n';
