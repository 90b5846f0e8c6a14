import type { RequestHandler, Response } from 'express';
import { HubError } from '../domain/errors.js';
import type { Actor } from '../domain/types.js';
import type { Hub } from '../hub/index.js';

/** Checks the bearer token of every `/api` request and leaves the caller in `res.locals.actor`. */
export function authenticate(hub: Hub): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const match = header ? /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(header) : null;
    if (!match) {
      throw new HubError('unauthorized', 'Send the header "Authorization: Bearer <token>".');
    }
    const actor = await hub.agents.authenticate(hub.tokens.verify(match[1]!));
    if (actor.role === 'agent') hub.agents.touch(actor.name);
    res.locals.actor = actor;
    next();
  };
}

export function actorOf(res: Response): Actor {
  return res.locals.actor as Actor;
}

export function requireAdmin(actor: Actor): void {
  if (actor.role !== 'admin') throw new HubError('forbidden', 'This route needs an admin token.');
}

export function requireAgent(actor: Actor): void {
  if (actor.role !== 'agent') throw new HubError('forbidden', 'This route is for agents; use an agent token.');
}
