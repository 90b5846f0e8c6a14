/**
 * Levels of nesting (arrays and objects) a JSON value taken from outside may have. Past a few thousand levels
 * serialising it overflows the stack, and well before that pretty-printing it grows with the square of the depth.
 */
export const MAX_JSON_DEPTH = 64;

/** What makes a JSON text unfit to take in, though it may parse. */
export type JsonLimitBreach = { kind: 'depth' } | { kind: 'number'; literal: string };

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isExponent = (b: number) => b === 0x65 || b === 0x45;
/** Bytes that may continue a JSON number after its first character. */
const isNumberByte = (b: number) => (b >= 0x30 && b <= 0x39) || b === 0x2e || b === 0x2b || b === 0x2d || isExponent(b);
const startsNumber = (b: number) => (b >= 0x30 && b <= 0x39) || b === 0x2d;

/**
 * One pass over the bytes of a JSON text (UTF-8): the first place where it nests deeper than `MAX_JSON_DEPTH` or
 * holds a number that overflows a double (`1e400` would parse as `Infinity`, then be stored as `null`). Malformed
 * JSON is left to `JSON.parse` to report; strings are skipped whole, so brackets inside them do not count.
 */
export function findJsonLimitBreach(text: Uint8Array): JsonLimitBreach | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const b = text[i]!;
    if (b === QUOTE) {
      i = skipString(text, i);
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) return { kind: 'depth' };
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      depth -= 1;
    } else if (startsNumber(b)) {
      let end = i + 1;
      while (end < text.length && isNumberByte(text[end]!)) end++;
      // Only a long number or one with an exponent can overflow; the rest are read no further.
      if (end - i > 15 || text.subarray(i, end).some(isExponent)) {
        let literal = '';
        for (let k = i; k < end; k++) literal += String.fromCharCode(text[k]!);
        const value = Number(literal);
        if (value === Infinity || value === -Infinity) return { kind: 'number', literal };
      }
      i = end - 1;
    }
  }
  return undefined;
}

/** Index of the closing quote of the string opening at `start` (or the last index when it never closes). */
function skipString(text: Uint8Array, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const b = text[i]!;
    if (b === BACKSLASH) i++;
    else if (b === QUOTE) return i;
  }
  return text.length - 1;
}
