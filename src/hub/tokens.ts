import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { HubError } from '../domain/errors.js';
import { isAgentName } from '../domain/names.js';

export type TokenClaims =
  | { role: 'agent'; sub: string; ver: number }
  | { role: 'admin'; sub: string };

const ALGORITHM = 'HS256';

/**
 * Verified tokens remembered, so that an agent's every request does not pay for HMAC and JSON decoding again.
 * Only the signature check is skipped on a hit: revocation (the agent's token version) is still looked up per
 * request, and tokens with an `exp` or `nbf` are never remembered, since their validity changes with time.
 */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

/** Signs and checks the hub's bearer tokens: HS256 only, whatever the token's header claims. */
export function createTokenService(secret: string) {
  // A KeyObject, not the string: given a string, jsonwebtoken first tries (and fails) to parse it as a PEM public
  // key on every call, which cost more than the rest of a request.
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  const verified = new Map<string, TokenClaims>();

  const check = (token: string): { claims: TokenClaims; timeBound: boolean } => {
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key, { algorithms: [ALGORITHM] });
    } catch (error) {
      const expired = error instanceof jwt.TokenExpiredError;
      throw new HubError('unauthorized', expired ? 'The token has expired.' : 'The token is not valid.');
    }
    if (typeof payload !== 'object' || typeof payload.sub !== 'string' || payload.sub === '') {
      throw new HubError('unauthorized', 'The token has no subject.');
    }
    const timeBound = payload.exp !== undefined || payload.nbf !== undefined;
    if (payload.role === 'admin') return { claims: { role: 'admin', sub: payload.sub }, timeBound };
    if (payload.role === 'agent' && isAgentName(payload.sub) && Number.isInteger(payload.ver)) {
      return { claims: { role: 'agent', sub: payload.sub, ver: payload.ver as number }, timeBound };
    }
    throw new HubError('unauthorized', 'The token does not name a valid role.');
  };

  return {
    /** An agent token carries its version; rotating the agent's token makes older versions fail. No expiry. */
    signAgent(name: string, version: number): string {
      return jwt.sign({ sub: name, role: 'agent', ver: version }, key, { algorithm: ALGORITHM });
    },

    signAdmin(sub = 'admin'): string {
      return jwt.sign({ sub, role: 'admin' }, key, { algorithm: ALGORITHM });
    },

    /** @throws HubError `unauthorized` for a malformed, wrongly signed, expired or `alg: none` token. */
    verify(token: string): TokenClaims {
      const known = verified.get(token);
      if (known) {
        // Map order is insertion order: moving a hit to the end makes the oldest entry the least recently used.
        verified.delete(token);
        verified.set(token, known);
        return known;
      }
      const { claims, timeBound } = check(token);
      if (!timeBound) {
        if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value!);
        verified.set(token, claims);
      }
      return claims;
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
