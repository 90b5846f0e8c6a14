import { HubError, type RateLimitStatus } from '../domain/errors.js';
import type { Actor } from '../domain/types.js';
import type { StoreTables, StoreTx } from '../store/store.js';

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
 * One rate-limit policy as the generic cell rate algorithm (GCRA): a token bucket of `limit` units refilled
 * continuously at `limit` per window. A sender may spend its whole quota in a burst and then `limit` per window
 * sustained; a refused attempt spends nothing. A bucket is one number, the time at which it is full again (`fullAt`,
 * ms; 0 or any time past for a full bucket), kept by the store; this is the arithmetic on it, with no state.
 */
export function createRateLimiter(policy: RateLimitPolicy) {
  const windowMs = policy.windowMs ?? 60_000;
  const intervalMs = windowMs / policy.limit;

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

    /** Whether `units` fit at `at` in a bucket full again at `fullAt`. */
    check(fullAt: number, at: number, units = 1): RateVerdict {
      const debtMs = Math.max(0, fullAt - at);
      const after = debtMs + units * intervalMs;
      if (after <= windowMs + 1e-6) return { allowed: true, retryAfterMs: 0, status: statusOf(debtMs) };
      return { allowed: false, retryAfterMs: after - windowMs, status: statusOf(debtMs) };
    },

    /** The bucket after spending `units` at `at` (callers check first): its new `fullAt` and the status to show. */
    spend(fullAt: number, at: number, units = 1): { fullAt: number; status: RateLimitStatus } {
      const debtMs = Math.max(0, fullAt - at) + units * intervalMs;
      return { fullAt: at + debtMs, status: statusOf(debtMs) };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

/** The error of a refused spend: 429 with the status under every policy that applied. */
export function refusal(message: (retryAfterSeconds: number) => string, verdicts: readonly RateVerdict[]): HubError {
  const over = verdicts.filter((v) => !v.allowed);
  const retryAfterSeconds = Math.max(1, ...over.map((v) => secondsUp(v.retryAfterMs)));
  const rateLimits = verdicts.map((v) => ({
    ...v.status,
    resetSeconds: v.allowed ? v.status.resetSeconds : Math.max(v.status.resetSeconds, retryAfterSeconds),
  }));
  return new HubError('rate_limited', message(retryAfterSeconds), { retryAfterSeconds, rateLimits });
}

/**
 * Spends one unit of `key` under each of `limiters` in the transaction `tx`, all or nothing: each bucket is locked
 * (in the order given, the same everywhere), and only when every one has room are they all saved. Nothing is spent
 * unless `tx` commits, so a change that fails or rolls back costs nothing.
 * @returns the verdicts; when one refused, nothing was saved.
 */
export async function spendIn(tx: StoreTx, limiters: readonly RateLimiter[], key: string, at: number) {
  const buckets: number[] = [];
  for (const limiter of limiters) buckets.push(await tx.rateLimits.lock(limiter.policy.name, key));
  const verdicts = limiters.map((l, i) => l.check(buckets[i]!, at));
  if (verdicts.some((v) => !v.allowed)) return { verdicts, statuses: undefined };
  const statuses: RateLimitStatus[] = [];
  for (const [i, limiter] of limiters.entries()) {
    const spent = limiter.spend(buckets[i]!, at);
    await tx.rateLimits.save(limiter.policy.name, key, spent.fullAt);
    statuses.push(spent.status);
  }
  return { verdicts, statuses };
}

export interface RateLimitSettings {
  /** Tasks + messages one sender may create per minute; 0 = off. */
  rateLimit: number;
  /** Broadcasts one sender may send per minute; 0 = off. */
  broadcastLimit: number;
}

/** What a send costs: every task or message send counts once; a broadcast counts once more on its own limit. */
export type SendKind = 'task' | 'message' | 'broadcast';

/**
 * The contract's two per-sender limits: `sends` (tasks + messages) and `broadcasts`, counted in the store, so
 * that a sender's creations count on every hub sharing it. Admins are exempt. `admit` is all-or-nothing: a
 * broadcast over either limit spends from neither.
 */
export function createRateLimits(settings: RateLimitSettings, now: () => number) {
  const sends = settings.rateLimit > 0 ? createRateLimiter({ name: 'sends', limit: settings.rateLimit }) : null;
  const broadcasts = settings.broadcastLimit > 0 ? createRateLimiter({ name: 'broadcasts', limit: settings.broadcastLimit }) : null;

  const applying = (actor: Actor, kind: SendKind): RateLimiter[] => {
    if (actor.role === 'admin') return [];
    const limiters = kind === 'broadcast' ? [sends, broadcasts] : [sends];
    return limiters.filter((l): l is RateLimiter => l !== null);
  };

  const refuse = (kind: SendKind, verdicts: RateVerdict[]): HubError => {
    const over = verdicts.filter((v) => !v.allowed);
    const what = over.map((v) => `${v.status.quota} ${v.status.policy === 'broadcasts' ? 'broadcasts' : 'tasks and messages'}`);
    return refusal(
      (retry) => `Rate limit reached: at most ${what.join(' and ')} per minute per sender; retry this ${kind} in ${retry} s.`,
      verdicts,
    );
  };

  return {
    /**
     * Refuses a send that would go over a limit now, reading without a lock and spending nothing (`admit` decides):
     * a storm of refused sends then costs the store a read each.
     * @throws HubError `rate_limited`.
     */
    async check(tables: StoreTables, actor: Actor, kind: SendKind): Promise<void> {
      const limiters = applying(actor, kind);
      if (limiters.length === 0) return;
      const at = now();
      const verdicts: RateVerdict[] = [];
      for (const l of limiters) verdicts.push(l.check(await tables.rateLimits.peek(l.policy.name, actor.name), at));
      if (verdicts.some((v) => !v.allowed)) throw refuse(kind, verdicts);
    },

    /**
     * Checks and spends in one step, inside the transaction `tx` of the send (spent only if it commits).
     * @returns the status under each policy that applied (empty for admins and with the limits off).
     * @throws HubError `rate_limited` with `retryAfterSeconds` and `rateLimits`, spending nothing.
     */
    async admit(tx: StoreTx, actor: Actor, kind: SendKind): Promise<RateLimitStatus[]> {
      const limiters = applying(actor, kind);
      if (limiters.length === 0) return [];
      const { verdicts, statuses } = await spendIn(tx, limiters, actor.name, now());
      if (!statuses) throw refuse(kind, verdicts);
      return statuses;
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
