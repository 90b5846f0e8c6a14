import type { RateLimitTable } from '../store.js';
import type { Db } from './db.js';
import type { SyncTable } from './sync.js';

/** Rate-limit buckets on SQLite: the one writer on the file makes `lock` … `save` in a transaction atomic. */
export function createRateLimitTable(db: Db): SyncTable<RateLimitTable> {
  const q = {
    get: db.prepare<[string, string], number>('SELECT full_at FROM rate_limits WHERE policy = ? AND key = ?'),
    save: db.prepare(
      `INSERT INTO rate_limits (policy, key, full_at) VALUES (?, ?, ?)
       ON CONFLICT (policy, key) DO UPDATE SET full_at = excluded.full_at`,
    ),
    prune: db.prepare('DELETE FROM rate_limits WHERE full_at <= ?'),
  };
  q.get.pluck();
  const read = (policy: string, key: string) => (q.get.get(policy, key) as number | undefined) ?? 0;

  const ops = {
    // The transaction holds the file's write lock already: reading is locking.
    lock: read,
    save(policy: string, key: string, fullAt: number): void {
      q.save.run(policy, key, fullAt);
    },
    peek: read,
    prune(now: number): number {
      return q.prune.run(now).changes;
    },
  };
  return { ops, writes: ['save', 'prune'] };
}
