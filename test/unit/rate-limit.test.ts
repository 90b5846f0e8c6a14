import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HubError } from '../../src/domain/errors.js';
import { createRateLimiter, createRateLimits } from '../../src/hub/rate-limit.js';
import { createSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';

/** A clock the test moves by hand: these tests are about time, so they own it. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** One bucket kept by the test, spent through the pure GCRA arithmetic. */
function bucket(limit: number, clock: ReturnType<typeof manualClock>) {
  const limiter = createRateLimiter({ name: 'p', limit });
  let fullAt = 0;
  return {
    check: () => limiter.check(fullAt, clock.now()),
    consume: () => {
      const spent = limiter.spend(fullAt, clock.now());
      fullAt = spent.fullAt;
      return spent.status;
    },
  };
}

const agent = (name: string) => ({ name, role: 'agent' as const });

describe('createRateLimiter (GCRA)', () => {
  it('allows a burst of the whole quota, then one more per window/limit', () => {
    const clock = manualClock();
    const limiter = bucket(6, clock); // one unit back every 10 s
    for (let i = 0; i < 6; i++) {
      expect(limiter.check().allowed).toBe(true);
      expect(limiter.consume().remaining).toBe(5 - i);
    }
    const refused = limiter.check();
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 10_000 });
    expect(refused.status).toMatchObject({ policy: 'p', quota: 6, windowSeconds: 60, remaining: 0, resetSeconds: 10 });
    clock.advance(9_999);
    expect(limiter.check().allowed).toBe(false);
    expect(limiter.check().retryAfterMs).toBe(1);
    clock.advance(1);
    expect(limiter.check().allowed).toBe(true);
    limiter.consume();
    expect(limiter.check().allowed).toBe(false);
  });

  it('sustains exactly `limit` per window over many windows', () => {
    const clock = manualClock();
    const limiter = bucket(60, clock);
    let admitted = 0;
    // One attempt every 100 ms for ten minutes: 60 in the first burst, then 60 a minute.
    for (let i = 0; i < 6000; i++) {
      if (limiter.check().allowed) {
        limiter.consume();
        admitted += 1;
      }
      clock.advance(100);
    }
    expect(admitted).toBeGreaterThanOrEqual(60 + 599);
    expect(admitted).toBeLessThanOrEqual(60 + 600);
  });

  it('reports remaining and the seconds until the next unit comes back', () => {
    const clock = manualClock();
    const limiter = bucket(4, clock); // a unit every 15 s
    expect(limiter.check().status).toMatchObject({ remaining: 4, resetSeconds: 0 });
    expect(limiter.consume()).toMatchObject({ remaining: 3, resetSeconds: 15 });
    clock.advance(5_000);
    expect(limiter.consume()).toMatchObject({ remaining: 2, resetSeconds: 10 });
  });
});

/** The HubError a promise rejects with. */
async function caughtAsync(fn: () => Promise<unknown>): Promise<HubError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof HubError) return error;
    throw error;
  }
  throw new Error('expected a HubError');
}

describe('createRateLimits (buckets in a real SQLite store)', () => {
  let dir: string | undefined;
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  const open = () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-rate-'));
    return (store = createSqliteStore(path.join(dir, 'taskhub.db')));
  };

  it('counts tasks and messages together, a broadcast on both limits, all or nothing', async () => {
    const s = open();
    const clock = manualClock();
    const limits = createRateLimits({ rateLimit: 3, broadcastLimit: 1 }, clock.now);
    const a = agent('a');
    const admit = (kind: 'task' | 'message' | 'broadcast') => s.transaction((tx) => limits.admit(tx, a, kind));
    expect((await admit('task')).map((st) => st.policy)).toEqual(['sends']);
    expect((await admit('broadcast')).map((st) => st.policy)).toEqual(['sends', 'broadcasts']);
    const overBroadcast = await caughtAsync(() => admit('broadcast'));
    expect(overBroadcast.code).toBe('rate_limited');
    expect(overBroadcast.retryAfterSeconds).toBe(60);
    expect(overBroadcast.rateLimits).toEqual([
      { policy: 'sends', quota: 3, windowSeconds: 60, remaining: 1, resetSeconds: 20 },
      { policy: 'broadcasts', quota: 1, windowSeconds: 60, remaining: 0, resetSeconds: 60 },
    ]);
    // The refused broadcast spent nothing from "sends": one message still fits, then none.
    await admit('message');
    const overSends = await caughtAsync(() => limits.check(s, a, 'task'));
    expect(overSends.retryAfterSeconds).toBe(20);
    expect(overSends.message).toContain('3 tasks and messages per minute');
  });

  it('spends nothing when the spending transaction rolls back', async () => {
    const s = open();
    const limits = createRateLimits({ rateLimit: 1, broadcastLimit: 0 }, manualClock().now);
    const a = agent('a');
    await expect(
      s.transaction(async (tx) => {
        await limits.admit(tx, a, 'task');
        throw new Error('the creation failed');
      }),
    ).rejects.toThrow('the creation failed');
    expect(await s.transaction((tx) => limits.admit(tx, a, 'task'))).toHaveLength(1);
    await expect(s.transaction((tx) => limits.admit(tx, a, 'task'))).rejects.toThrow(HubError);
  });

  it('exempts admins and turns a policy off with 0', async () => {
    const s = open();
    const clock = manualClock();
    const limits = createRateLimits({ rateLimit: 1, broadcastLimit: 0 }, clock.now);
    const admin = { name: 'admin', role: 'admin' as const };
    for (let i = 0; i < 100; i++) expect(await s.transaction((tx) => limits.admit(tx, admin, 'broadcast'))).toEqual([]);
    const a = agent('a');
    expect((await s.transaction((tx) => limits.admit(tx, a, 'broadcast'))).map((st) => st.policy)).toEqual(['sends']);
    await expect(s.transaction((tx) => limits.admit(tx, a, 'broadcast'))).rejects.toThrow(HubError);
    const off = createRateLimits({ rateLimit: 0, broadcastLimit: 0 }, clock.now);
    for (let i = 0; i < 100; i++) expect(await s.transaction((tx) => off.admit(tx, a, 'broadcast'))).toEqual([]);
  });
});
