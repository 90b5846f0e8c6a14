import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HubError } from '../../src/domain/errors.js';
import { createTokenService, VERIFIED_TOKEN_CACHE_SIZE } from '../../src/hub/tokens.js';

const SECRET = 'a-secret-of-enough-length-for-tests';
afterEach(() => vi.useRealTimers());

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof HubError ? error.code : 'not a HubError';
  }
  return 'ok';
};

describe('token verification', () => {
  it('remembers a verified token: the same claims come back, and a bad signature is still refused', () => {
    const tokens = createTokenService(SECRET);
    const token = tokens.signAgent('worker', 3);
    expect(tokens.verify(token)).toEqual({ role: 'agent', sub: 'worker', ver: 3 });
    expect(tokens.verify(token)).toEqual({ role: 'agent', sub: 'worker', ver: 3 });
    const forged = jwt.sign({ sub: 'worker', role: 'agent', ver: 3 }, 'another-secret-of-enough-length');
    expect(code(() => tokens.verify(forged))).toBe('unauthorized');
  });

  it('never remembers a token with an expiry: once it has expired it is refused, though it passed before', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-21T09:00:00Z'));
    const tokens = createTokenService(SECRET);
    const token = jwt.sign({ sub: 'root', role: 'admin' }, SECRET, { expiresIn: 60 });
    expect(code(() => tokens.verify(token))).toBe('ok');
    vi.setSystemTime(new Date('2026-11-21T09:02:00Z'));
    expect(code(() => tokens.verify(token))).toBe('unauthorized');
  });

  it('keeps at most VERIFIED_TOKEN_CACHE_SIZE tokens and still verifies those it let go', () => {
    const tokens = createTokenService(SECRET);
    const first = tokens.signAgent('agent-0', 1);
    tokens.verify(first);
    for (let i = 1; i <= VERIFIED_TOKEN_CACHE_SIZE; i++) tokens.verify(tokens.signAgent(`agent-${i}`, 1));
    expect(tokens.verify(first)).toEqual({ role: 'agent', sub: 'agent-0', ver: 1 });
  });
});
