import type { Request, RequestHandler, Response } from 'express';
import { HubError } from '../domain/errors.js';
import type { Actor } from '../domain/types.js';
import type { Hub } from '../hub/index.js';
import type { StreamTickets } from './stream-tickets.js';

/** The bearer token of a request, or undefined when it sends none (or not in the Bearer form). */
export function bearerTokenOf(req: Request): string | undefined {
  const header = req.headers.authorization;
  return header ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header)?.[1] : undefined;
}

/**
 * The token of a request that sends no header but a stream ticket: only `GET /events` (under `/api`) takes one,
 * since that is what a browser's `EventSource` opens. The ticket is used up here, whatever follows.
 */
function ticketTokenOf(req: Request, tickets: StreamTickets | undefined): string | undefined {
  const ticket = req.query.ticket;
  if (!tickets || req.method !== 'GET' || req.path !== '/events' || typeof ticket !== 'string') return undefined;
  const token = tickets.redeem(ticket);
  if (token === undefined) {
    throw new HubError('unauthorized', 'The stream ticket is unknown, used or expired; get a new one from POST /api/events/ticket.');
  }
  return token;
}

/**
 * Checks the bearer token of every `/api` request (or the one-time stream ticket of `GET /api/events`) and leaves
 * the caller in `res.locals.actor`.
 */
export function authenticate(hub: Hub, tickets?: StreamTickets): RequestHandler {
  return (req, res, next) => {
    const token = bearerTokenOf(req) ?? ticketTokenOf(req, tickets);
    if (token === undefined) {
      throw new HubError('unauthorized', 'Send the header "Authorization: Bearer <token>".');
    }
    const actor = hub.agents.authenticate(hub.tokens.verify(token));
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
