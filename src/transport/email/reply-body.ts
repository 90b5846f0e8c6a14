import { findJsonLimitBreach } from '../../domain/json-limits.js';

/** What a reply about a task asks for, read from its subject. */
export type ReplyCommand = 'ack' | 'status' | 'result' | 'error' | 'reply';

export interface ReplySubject {
  command: ReplyCommand;
  /** The task id after the prefix, when the subject names one. */
  id?: string;
}

/** `Re:`, `Fwd:` and their common translations, and `[list tags]`, that clients put before a subject. */
const REPLY_PREFIX = /^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|tr|ref|rif|r)\s*(?:\[\d+\])?\s*:|\[[^\]]*\])\s*/i;
const COMMAND = /^(ack|status|result|error)\s*:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?/i;

/** Reads `ACK:<id>`, `STATUS:<id>`, `RESULT:<id>` or `ERROR:<id>` (after any `Re:`); anything else is a plain reply. */
export function parseReplySubject(subject: string): ReplySubject {
  let rest = subject;
  for (let previous = ''; previous !== rest; ) {
    previous = rest;
    rest = rest.replace(REPLY_PREFIX, '');
  }
  const match = COMMAND.exec(rest.trim());
  if (!match) return { command: 'reply' };
  const command = match[1]!.toLowerCase() as ReplyCommand;
  return match[2] ? { command, id: match[2].toLowerCase() } : { command };
}

/** The line that introduces quoted history: "On … wrote:" and its German and French forms. */
const ATTRIBUTION = /^\s*(?:On\s.*\swrote|Am\s.*\sschrieb.*|Le\s.*\sa\s+écrit\s*)\s*:\s*$/i;
const ATTRIBUTION_START = /^\s*(?:On|Am|Le)\s/;
const ORIGINAL_MESSAGE = /^\s*-{2,}\s*(?:Original Message|Forwarded message|Ursprüngliche Nachricht)\s*-{2,}\s*$/i;
const SIGNATURE = /^-- ?$/;

/** True when lines[i] starts an attribution, which clients may wrap over up to three lines. */
function startsAttribution(lines: readonly string[], i: number): boolean {
  if (!ATTRIBUTION_START.test(lines[i]!)) return false;
  for (let n = 1; n <= 3 && i + n <= lines.length; n++) {
    if (ATTRIBUTION.test(lines.slice(i, i + n).join(' '))) return true;
  }
  return false;
}

/**
 * The new text of a reply: everything before the quoted history ("On … wrote:", "-----Original Message-----") or
 * the signature ("-- "), without lines quoted with ">", trimmed.
 */
export function stripReply(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (SIGNATURE.test(line) || ORIGINAL_MESSAGE.test(line) || startsAttribution(lines, i)) break;
    if (/^\s*>/.test(line)) continue;
    kept.push(line);
  }
  return kept.join('\n').trim();
}

/** A reply body as a result: the JSON value when the body is JSON, else the text itself; `null` when empty. */
export function parseResult(body: string): unknown {
  if (body === '') return null;
  // JSON the HTTP routes would refuse (too deep, numbers out of range) is kept as the text it is.
  if (findJsonLimitBreach(Buffer.from(body, 'utf8'))) return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}
