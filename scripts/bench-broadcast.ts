/**
 * What one broadcast costs the hub: the time `hub.messages.send(…, {to: "ALL"})` takes until committed (it writes a
 * row and an event per recipient in one transaction), by number of agents and body size, on a temp SQLite file;
 * and what a refused send costs under the rate limit. Run: `npx tsx scripts/bench-broadcast.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HubError } from '../src/domain/errors.js';
import { createHub } from '../src/hub/index.js';
import { createRateLimits } from '../src/hub/rate-limit.js';
import { createSqliteStore } from '../src/store/sqlite/index.js';

const ROUNDS = 7;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-bench-'));
const store = createSqliteStore(path.join(dir, 'taskhub.db'));
const hub = createHub(store, { secret: 'bench'.repeat(8), leaseSeconds: 300, maxAttempts: 3, eventRetentionDays: 7 });
const admin = { name: 'admin', role: 'admin' as const };
const sender = { name: 'agent-0', role: 'agent' as const };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  let agents = 0;
  for (const count of [10, 100, 1000]) {
    while (agents < count) await hub.agents.create(admin, { name: `agent-${agents++}` });
    for (const size of [100, 2000, 10_000]) {
      if ((count - 1) * (size + 1) > 2_000_000) continue; // over the fan-out budget: refused, not stored
      const body = 'x'.repeat(size);
      const times: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const start = performance.now();
        await hub.messages.send(sender, { to: 'ALL', subject: 's', body });
        times.push(performance.now() - start);
      }
      console.log(`ALL to ${count - 1} agents, body ${size} chars: median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`);
    }
  }

  const limits = createRateLimits({ rateLimit: 600, broadcastLimit: 10 }, Date.now);
  for (let i = 0; i < 10; i++) await store.transaction((tx) => limits.admit(tx, sender, 'broadcast'));
  const n = 100_000;
  let refused = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    try {
      // What a storm of refused sends costs: the early check, a read of the buckets without a transaction.
      await limits.check(store, sender, 'broadcast');
    } catch (error) {
      if (!(error instanceof HubError)) throw error;
      refused += 1;
    }
  }
  console.log(`refused broadcast (rate check + error): ${(((performance.now() - start) / n) * 1000).toFixed(1)} µs each, ${refused}/${n} refused`);
} finally {
  await hub.stop();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
