import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a reply address is about: a task (replies act on it) or a message (replies join its thread). */
export type ReplyKind = 'task' | 'message';

export interface ParsedReplyAddress {
  id: string;
  signature: string;
}

/**
 * Bytes of the HMAC kept in the address: 13 bytes = 104 bits, 21 base32 characters, so that
 * `reply+<uuid>.<signature>` is exactly 64 characters, the longest local part RFC 5321 allows.
 */
const SIGNATURE_BYTES = 13;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** RFC 4648 base32, lower case, unpadded: survives mail systems that change the case of local parts. */
function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Signed reply addresses `reply+<id>.<signature>@<domain>`. The signature is an HMAC-SHA256 of the kind, the id and
 * the agent's name under a key derived from the hub's secret: only the hub can make one, one agent's address does
 * not work for another, and a task's address cannot be used as a message's. Verification compares in constant time.
 */
export function createReplyAddresses(secret: string, domain: string) {
  // A key of its own, so that a signature can never be confused with a token signed by the same secret.
  const key = createHmac('sha256', secret).update('taskhub reply address v1').digest();
  const pattern = new RegExp(`^reply\\+(${UUID})\\.([a-z2-7]{21})@(.+)$`, 'i');
  const sign = (kind: ReplyKind, id: string, agent: string) =>
    base32(createHmac('sha256', key).update(`${kind}\n${id.toLowerCase()}\n${agent}`).digest().subarray(0, SIGNATURE_BYTES));

  return {
    /** The address an agent replies to about a task or message. */
    address(kind: ReplyKind, id: string, agent: string): string {
      return `reply+${id.toLowerCase()}.${sign(kind, id, agent)}@${domain}`;
    },

    /** Splits a reply address on this hub's domain; `undefined` for any other address. Checks no signature. */
    parse(address: string): ParsedReplyAddress | undefined {
      const match = pattern.exec(address.trim());
      if (!match || match[3]!.toLowerCase() !== domain.toLowerCase()) return undefined;
      return { id: match[1]!.toLowerCase(), signature: match[2]!.toLowerCase() };
    },

    /** True when `signature` is the one this hub gives `agent` for `kind` and `id`. */
    verify(kind: ReplyKind, id: string, agent: string, signature: string): boolean {
      const expected = Buffer.from(sign(kind, id, agent));
      const given = Buffer.from(signature.toLowerCase());
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

export type ReplyAddresses = ReturnType<typeof createReplyAddresses>;
