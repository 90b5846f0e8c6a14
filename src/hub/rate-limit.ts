import { HubError, type RateLimitStatus } from '../domain/errors.js';
import type { Actor } from '../domain/types.js';

export interface RateLimitPolicy {
  /** The policy's name in the `RateLimit` and `RateLimit-Policy` header fields. */
  name: string;
  /** Units a sender may spend per window; 0 turns the policy off. */
  limit: number;
  /** Window, ms. Default 60,000 (the contract's "per minute"). */
  windowMs?: number;
}

/** What a check found: whether the units fit, when they would, and the status to advertise. */
export interface RateVerdict {
  allowed: boolean;
  /** 0 when allowed; otherwise ms until the units would fit. */
  retryAfterMs: number;
  status: RateLimitStatus;
}

/** Whole seconds, rounded up (a float hair over a whole second does not add one). */
const secondsUp = (ms: number) => Math.max(0, Math.ceil(ms / 1000 - 1e-9));

/**
 * One rate-limit policy, kept per sender with the generic cell rate algorithm (GCRA): a token bucket of `limit`
 * units refilled continuously at `limit` per window. A sender may spend its whole quota in a burst and then
 * `limit` per window sustained; a refused attempt spends nothing. Each sender costs one number (the time at
 * which its bucket is full again), every check is O(1), and a sender whose bucket is full again is forgotten,
 * so memory holds only senders active within the last window. No timers.
 */
export function createRateLimiter(policy: RateLimitPolicy, now: () => number) {
  const windowMs = policy.windowMs ?? 60_000;
  const intervalMs = windowMs / policy.limit;
  // Insertion order is last-update order, and an entry is full again at most one window after its last update:
  // sweeping from the front until the first live entry keeps only senders updated within the last window.
  const fullAt = new Map<string, number>();

  const sweep = (at: number) => {
    for (const [key, full] of fullAt) {
      if (full > at) return;
      fullAt.delete(key);
    }
  };

  const statusOf = (debtMs: number): RateLimitStatus => {
    const remaining = Math.max(0, Math.floor((windowMs - debtMs) / intervalMs + 1e-9));
    // Until the next unit comes back, no more than `remaining` can be spent.
    const nextUnitMs = remaining >= policy.limit ? 0 : debtMs + (remaining + 1) * intervalMs - windowMs;
    return {
      policy: policy.name,
      quota: policy.limit,
      windowSeconds: secondsUp(windowMs),
      remaining,
      resetSeconds: secondsUp(Math.max(0, nextUnitMs)),
    };
  };

  return {
    policy,

    /** Whether `units` fit now for `key`, spending nothing. */
    check(key: string, units = 1): RateVerdict {
      const at = now();
      sweep(at);
      const debtMs = Math.max(0, (fullAt.get(key) ?? at) - at);
      const after = debtMs + units * intervalMs;
      if (after <= windowMs + 1e-6) return { allowed: true, retryAfterMs: 0, status: statusOf(debtMs) };
      return { allowed: false, retryAfterMs: after - windowMs, status: statusOf(debtMs) };
    },

    /** Spends `units` for `key` (callers check first); returns the status after spending. */
    consume(key: string, units = 1): RateLimitStatus {
      const at = now();
      const debtMs = Math.max(0, (fullAt.get(key) ?? at) - at) + units * intervalMs;
      fullAt.delete(key);
      fullAt.set(key, at + debtMs);
      return statusOf(debtMs);
    },

    /** Gives back `units` spent for `key` by a change that did not happen. */
    refund(key: string, units = 1): void {
      const full = fullAt.get(key);
      if (full === undefined) return;
      const at = now();
      const after = full - units * intervalMs;
      if (after <= at) fullAt.delete(key);
      else fullAt.set(key, after);
    },

    /** Senders currently remembered (those active within the last window, at most). */
    size(): number {
      sweep(now());
      return fullAt.size;
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

export interface RateLimitSettings {
  /** Tasks + messages one sender may create per minute; 0 = off. */
  rateLimit: number;
  /** Broadcasts one sender may send per minute; 0 = off. */
  broadcastLimit: number;
}

/** What a send costs: every task or message send counts once; a broadcast counts once more on its own limit. */
export type SendKind = 'task' | 'message' | 'broadcast';

/**
 * The contract's two per-sender limits: `sends` (tasks + messages) and `broadcasts`. Admins are exempt.
 * `admit` is all-or-nothing: a broadcast over either limit spends from neither.
 */
export function createRateLimits(settings: RateLimitSettings, now: () => number) {
  const sends = settings.rateLimit > 0 ? createRateLimiter({ name: 'sends', limit: settings.rateLimit }, now) : null;
  const broadcasts =
    settings.broadcastLimit > 0 ? createRateLimiter({ name: 'broadcasts', limit: settings.broadcastLimit }, now) : null;

  const applying = (actor: Actor, kind: SendKind): RateLimiter[] => {
    if (actor.role === 'admin') return [];
    const limiters = kind === 'broadcast' ? [sends, broadcasts] : [sends];
    return limiters.filter((l): l is RateLimiter => l !== null);
  };

  const refuse = (kind: SendKind, verdicts: RateVerdict[]): HubError => {
    const over = verdicts.filter((v) => !v.allowed);
    const retryAfterSeconds = Math.max(1, ...over.map((v) => secondsUp(v.retryAfterMs)));
    const what = over.map((v) => `${v.status.quota} ${v.status.policy === 'broadcasts' ? 'broadcasts' : 'tasks and messages'}`);
    const rateLimits = verdicts.map((v) => ({
      ...v.status,
      resetSeconds: v.allowed ? v.status.resetSeconds : Math.max(v.status.resetSeconds, retryAfterSeconds),
    }));
    return new HubError(
      'rate_limited',
      `Rate limit reached: at most ${what.join(' and ')} per minute per sender; retry this ${kind} in ${retryAfterSeconds} s.`,
      { retryAfterSeconds, rateLimits },
    );
  };

  return {
    /**
     * Asynchronous, like every limit a store may count: this one counts in memory, per hub process.
     * @throws HubError `rate_limited` when the send would go over a limit; spends nothing either way.
     */
    async check(actor: Actor, kind: SendKind): Promise<void> {
      const verdicts = applying(actor, kind).map((l) => l.check(actor.name));
      if (verdicts.some((v) => !v.allowed)) throw refuse(kind, verdicts);
    },

    /**
     * Checks and spends in one step.
     * @returns the status under each policy that applied (empty for admins and with the limits off).
     * @throws HubError `rate_limited` with `retryAfterSeconds` and `rateLimits`, spending nothing.
     */
    async admit(actor: Actor, kind: SendKind): Promise<RateLimitStatus[]> {
      const limiters = applying(actor, kind);
      const verdicts = limiters.map((l) => l.check(actor.name));
      if (verdicts.some((v) => !v.allowed)) throw refuse(kind, verdicts);
      return limiters.map((l) => l.consume(actor.name));
    },

    /** Gives back what `admit` spent for a send that rolled back. */
    refund(actor: Actor, kind: SendKind): void {
      for (const limiter of applying(actor, kind)) limiter.refund(actor.name);
    },

    /** Senders remembered by each policy (memory check for tests and stats). */
    tracked(): { sends: number; broadcasts: number } {
      return { sends: sends?.size() ?? 0, broadcasts: broadcasts?.size() ?? 0 };
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
