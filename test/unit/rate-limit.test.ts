import { describe, expect, it } from 'vitest';
import { HubError } from '../../src/domain/errors.js';
import { createRateLimiter, createRateLimits } from '../../src/hub/rate-limit.js';

/** A clock the test moves by hand: these tests are about time, so they own it. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const agent = (name: string) => ({ name, role: 'agent' as const });
const caught = (fn: () => unknown): HubError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof HubError) return error;
    throw error;
  }
  throw new Error('expected a HubError');
};

describe('createRateLimiter (GCRA)', () => {
  it('allows a burst of the whole quota, then one more per window/limit', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ name: 'p', limit: 6 }, clock.now); // one unit back every 10 s
    for (let i = 0; i < 6; i++) {
      expect(limiter.check('a').allowed).toBe(true);
      expect(limiter.consume('a').remaining).toBe(5 - i);
    }
    const refused = limiter.check('a');
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 10_000 });
    expect(refused.status).toMatchObject({ policy: 'p', quota: 6, windowSeconds: 60, remaining: 0, resetSeconds: 10 });
    clock.advance(9_999);
    expect(limiter.check('a').allowed).toBe(false);
    expect(limiter.check('a').retryAfterMs).toBe(1);
    clock.advance(1);
    expect(limiter.check('a').allowed).toBe(true);
    limiter.consume('a');
    expect(limiter.check('a').allowed).toBe(false);
  });

  it('spends nothing on a check, and keeps senders apart', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ name: 'p', limit: 2 }, clock.now);
    for (let i = 0; i < 10; i++) expect(limiter.check('a').allowed).toBe(true);
    limiter.consume('a');
    limiter.consume('a');
    expect(limiter.check('a').allowed).toBe(false);
    expect(limiter.check('b').allowed).toBe(true);
  });

  it('sustains exactly `limit` per window over many windows', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ name: 'p', limit: 60 }, clock.now);
    let admitted = 0;
    // One attempt every 100 ms for ten minutes: 60 in the first burst, then 60 a minute.
    for (let i = 0; i < 6000; i++) {
      if (limiter.check('a').allowed) {
        limiter.consume('a');
        admitted += 1;
      }
      clock.advance(100);
    }
    expect(admitted).toBeGreaterThanOrEqual(60 + 599);
    expect(admitted).toBeLessThanOrEqual(60 + 600);
  });

  it('reports remaining and the seconds until the next unit comes back', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ name: 'p', limit: 4 }, clock.now); // a unit every 15 s
    expect(limiter.check('a').status).toMatchObject({ remaining: 4, resetSeconds: 0 });
    expect(limiter.consume('a')).toMatchObject({ remaining: 3, resetSeconds: 15 });
    clock.advance(5_000);
    expect(limiter.consume('a')).toMatchObject({ remaining: 2, resetSeconds: 10 });
  });

  it('forgets a sender once its bucket is full again, so memory holds only the last window', () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ name: 'p', limit: 10 }, clock.now);
    for (let i = 0; i < 1000; i++) limiter.consume(`sender-${i}`);
    expect(limiter.size()).toBe(1000);
    clock.advance(6_000); // one unit per sender: full again after 6 s
    limiter.consume('late');
    expect(limiter.size()).toBe(1);
    clock.advance(6_000);
    expect(limiter.size()).toBe(0);
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

describe('createRateLimits', async () => {
  it('counts tasks and messages together, a broadcast on both limits, all or nothing', async () => {
    const clock = manualClock();
    const limits = createRateLimits({ rateLimit: 3, broadcastLimit: 1 }, clock.now);
    const a = agent('a');
    expect((await limits.admit(a, 'task')).map((s) => s.policy)).toEqual(['sends']);
    expect((await limits.admit(a, 'broadcast')).map((s) => s.policy)).toEqual(['sends', 'broadcasts']);
    const overBroadcast = await caughtAsync(() => limits.admit(a, 'broadcast'));
    expect(overBroadcast.code).toBe('rate_limited');
    expect(overBroadcast.retryAfterSeconds).toBe(60);
    expect(overBroadcast.rateLimits).toEqual([
      { policy: 'sends', quota: 3, windowSeconds: 60, remaining: 1, resetSeconds: 20 },
      { policy: 'broadcasts', quota: 1, windowSeconds: 60, remaining: 0, resetSeconds: 60 },
    ]);
    // The refused broadcast spent nothing from "sends": one message still fits, then none.
    await limits.admit(a, 'message');
    const overSends = await caughtAsync(() => limits.check(a, 'task'));
    expect(overSends.retryAfterSeconds).toBe(20);
    expect(overSends.message).toContain('3 tasks and messages per minute');
  });

  it('exempts admins and turns a policy off with 0', async () => {
    const clock = manualClock();
    const limits = createRateLimits({ rateLimit: 1, broadcastLimit: 0 }, clock.now);
    const admin = { name: 'admin', role: 'admin' as const };
    for (let i = 0; i < 100; i++) expect(await limits.admit(admin, 'broadcast')).toEqual([]);
    const a = agent('a');
    expect((await limits.admit(a, 'broadcast')).map((s) => s.policy)).toEqual(['sends']);
    await expect(limits.admit(a, 'broadcast')).rejects.toThrow(HubError);
    const off = createRateLimits({ rateLimit: 0, broadcastLimit: 0 }, clock.now);
    for (let i = 0; i < 100; i++) expect(await off.admit(a, 'broadcast')).toEqual([]);
    expect(off.tracked()).toEqual({ sends: 0, broadcasts: 0 });
  });
});
