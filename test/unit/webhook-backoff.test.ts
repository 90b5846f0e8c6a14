import { describe, expect, it } from 'vitest';
import { RETRY_JITTER, webhookRetryDelayMs } from '../../src/transport/webhook/backoff.js';

describe('webhook retry delay', () => {
  it('starts at the base, doubles, stops at the cap', () => {
    const middle = () => 0.5;
    expect([1, 2, 3, 4, 10, 30].map((n) => webhookRetryDelayMs(n, 1000, 300_000, middle))).toEqual([
      1000, 2000, 4000, 8000, 300_000, 300_000,
    ]);
  });

  it('spreads each delay by the jitter, both ways', () => {
    expect(webhookRetryDelayMs(1, 1000, 300_000, () => 0)).toBe(1000 * (1 - RETRY_JITTER));
    expect(webhookRetryDelayMs(1, 1000, 300_000, () => 0.999999)).toBe(Math.round(1000 * (1 + RETRY_JITTER)));
    const spread = new Set(Array.from({ length: 50 }, () => webhookRetryDelayMs(3, 1000, 300_000)));
    expect(spread.size).toBeGreaterThan(10);
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(3200);
    expect(Math.max(...spread)).toBeLessThanOrEqual(4800);
  });
});
