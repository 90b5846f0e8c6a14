import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { HubError } from '../domain/errors.js';
import { isAgentName } from '../domain/names.js';

export type TokenClaims =
  | { role: 'agent'; sub: string; ver: number }
  | { role: 'admin'; sub: string };

const ALGORITHM = 'HS256';

/** Signs and checks the hub's bearer tokens: HS256 only, whatever the token's header claims. */
export function createTokenService(secret: string) {
  // A KeyObject, not the string: given a string, jsonwebtoken first tries (and fails) to parse it as a PEM public
  // key on every call, which cost more than the rest of a request.
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
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
      if (payload.role === 'admin') return { role: 'admin', sub: payload.sub };
      if (payload.role === 'agent' && isAgentName(payload.sub) && Number.isInteger(payload.ver)) {
        return { role: 'agent', sub: payload.sub, ver: payload.ver as number };
      }
      throw new HubError('unauthorized', 'The token does not name a valid role.');
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
