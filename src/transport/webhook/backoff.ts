/** How far (±) a retry delay is spread at random, so that deliveries failing together do not retry together. */
export const RETRY_JITTER = 0.2;

/**
 * Delay after the `attempts`-th failed delivery, ms: `base`, doubling each time, at most `max`, then spread by
 * ±`RETRY_JITTER` (`random` in [0, 1)).
 */
export function webhookRetryDelayMs(attempts: number, base: number, max: number, random: () => number = Math.random): number {
  const plain = Math.min(base * 2 ** Math.max(0, attempts - 1), max);
  return Math.round(plain * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random()));
}
