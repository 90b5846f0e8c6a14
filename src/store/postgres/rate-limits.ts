import type { RateLimitTable } from '../store.js';
import type { Session } from './session.js';

/**
 * Rate-limit buckets on PostgreSQL. `lock` is one upsert that returns the bucket's current time: the row exists
 * afterwards and this transaction holds its lock, so a second hub spending from the same bucket waits for this
 * transaction to end and then reads what it saved (never both the last unit), even for a bucket never used before.
 */
export function createRateLimitTable(s: Session): RateLimitTable {
  return {
    async lock(policy, key) {
      await s.serialize(`rate_limits:${policy}:${key}`);
      const [row] = await s.rows<{ full_at: number }>(
        `INSERT INTO rate_limits (policy, key, full_at) VALUES ($1, $2, 0)
         ON CONFLICT (policy, key) DO UPDATE SET full_at = rate_limits.full_at RETURNING full_at`,
        [policy, key],
      );
      return row?.full_at ?? 0;
    },

    async save(policy, key, fullAt) {
      await s.count('UPDATE rate_limits SET full_at = $3 WHERE policy = $1 AND key = $2', [policy, key, fullAt]);
    },

    async peek(policy, key) {
      const [row] = await s.rows<{ full_at: number }>('SELECT full_at FROM rate_limits WHERE policy = $1 AND key = $2', [
        policy,
        key,
      ]);
      return row?.full_at ?? 0;
    },

    prune(now) {
      return s.count('DELETE FROM rate_limits WHERE full_at <= $1', [now]);
    },
  } satisfies RateLimitTable;
}
