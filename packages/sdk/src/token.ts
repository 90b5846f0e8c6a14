/** What a token says about its holder, read without checking its signature: the hub checks it, not the SDK. */
export interface TokenClaims {
  /** The agent's name (for an admin: any name). */
  sub: string;
  role: 'agent' | 'admin';
}

/** The `sub` and `role` claims of a taskhub JWT, or `undefined` when the token is not one the SDK can read. */
export function readTokenClaims(token: string): TokenClaims | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<TokenClaims>;
    if (typeof claims.sub !== 'string' || (claims.role !== 'agent' && claims.role !== 'admin')) return undefined;
    return { sub: claims.sub, role: claims.role };
  } catch {
    return undefined;
  }
}
