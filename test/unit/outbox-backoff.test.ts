import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/transport/email/outbox-sender.js';
import { cut, oneLine } from '../../src/transport/email/mail-text.js';

describe('outbox retry delays', () => {
  it('start at the base, double with each failed send and stop at the cap', () => {
    const delays = [1, 2, 3, 4, 5, 9, 10, 50].map((n) => retryDelayMs(n, 1000, 300_000));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 256_000, 300_000, 300_000]);
  });
});

describe('header-safe text', () => {
  it('turns every kind of line break and control character into a space', () => {
    expect(oneLine('a\r\nBcc: x@y\rb\nc\u2028d\u0000e\u0085f\tg')).toBe('a Bcc: x@y b c d e f g');
  });

  it('cuts at a number of characters, counting an emoji as one, with an ellipsis', () => {
    expect(cut('abc', 3)).toBe('abc');
    expect(cut('abcd', 3)).toBe('ab…');
    expect(cut('😀😀😀😀', 3)).toBe('😀😀…');
  });
});
