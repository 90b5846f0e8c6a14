import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HubError } from '../domain/errors.js';

/** How long a stream ticket stays valid, ms. */
export const TICKET_TTL_MS = 60_000;
/** Tickets one caller may hold unused at once; one more is `429 rate_limited`. */
export const MAX_TICKETS_PER_CALLER = 20;
/** Tickets the hub holds unused at once; one more is `503 overloaded`. */
export const MAX_OPEN_TICKETS = 10_000;

export interface StreamTicketOptions {
  /** Validity, ms. Default `TICKET_TTL_MS` (60 s). */
  ttlMs?: number;
  /** Default `MAX_TICKETS_PER_CALLER` (20). */
  perCaller?: number;
  /** Default `MAX_OPEN_TICKETS` (10,000). */
  max?: number;
  now?: () => number;
}

interface OpenTicket {
  caller: string;
  /** The bearer token the ticket was issued for, verified again when the ticket is used (so revocation holds). */
  token: string;
  expiresAt: number;
}

/**
 * One-time tickets that let a browser's own `EventSource`, which cannot send headers, open the event stream
 * without a long-lived token in its URL. Held in this process's memory: a ticket is valid on the hub that
 * issued it. No timers: expired tickets are dropped whenever a ticket is issued or used.
 */
export function createStreamTickets(options: StreamTicketOptions = {}) {
  const ttlMs = options.ttlMs ?? TICKET_TTL_MS;
  const perCaller = options.perCaller ?? MAX_TICKETS_PER_CALLER;
  const max = options.max ?? MAX_OPEN_TICKETS;
  const now = options.now ?? Date.now;
  // Every ticket lives equally long, so insertion order is expiry order.
  const open = new Map<string, OpenTicket>();
  const held = new Map<string, number>();

  const forget = (ticket: string, entry: OpenTicket) => {
    open.delete(ticket);
    const left = (held.get(entry.caller) ?? 1) - 1;
    if (left > 0) held.set(entry.caller, left);
    else held.delete(entry.caller);
  };
  const prune = (at: number) => {
    for (const [ticket, entry] of open) {
      if (entry.expiresAt > at) break;
      forget(ticket, entry);
    }
  };

  return {
    /** Issues a ticket for `caller` (a name) authenticated with `token`. */
    issue(caller: string, token: string): { ticket: string; expiresAt: string } {
      const at = now();
      prune(at);
      if ((held.get(caller) ?? 0) >= perCaller) {
        throw new HubError('rate_limited', `At most ${perCaller} stream tickets may wait unused; use or let expire one.`, {
          retryAfterSeconds: Math.ceil(ttlMs / 1000),
        });
      }
      if (open.size >= max) {
        throw new HubError('overloaded', 'Too many stream tickets wait unused; retry shortly.', { retryAfterSeconds: 1 });
      }
      const ticket = randomBytes(32).toString('base64url');
      const expiresAt = at + ttlMs;
      open.set(ticket, { caller, token, expiresAt });
      held.set(caller, (held.get(caller) ?? 0) + 1);
      return { ticket, expiresAt: new Date(expiresAt).toISOString() };
    },

    /** Uses up a ticket: the token it stands for, or undefined when it is unknown, used or expired. */
    redeem(ticket: string): string | undefined {
      prune(now());
      const entry = open.get(ticket);
      if (!entry) return undefined;
      forget(ticket, entry);
      return entry.token;
    },

    /** Unused tickets held now. */
    size: () => open.size,
  };
}

export type StreamTickets = ReturnType<typeof createStreamTickets>;

/**
 * In front of the token check of every `/api` route (app.ts): a `GET /api/events` that sends no `Authorization`
 * header but a `?ticket=` uses the ticket up and goes on as a request with the token the ticket stands for, which
 * the token check then verifies as usual. A ticket is never accepted on any other route.
 */
export function acceptStreamTickets(tickets: StreamTickets): RequestHandler {
  return (req, _res, next) => {
    // The method first: Express parses the query string anew on every read of `req.query`.
    if (req.method !== 'GET' || req.headers.authorization !== undefined || req.path !== '/events') return next();
    const ticket = req.query.ticket;
    if (typeof ticket !== 'string') return next();
    const token = tickets.redeem(ticket);
    if (token === undefined) {
      const why = 'The stream ticket is unknown, used or expired; get a new one from POST /api/events/ticket.';
      throw new HubError('unauthorized', why);
    }
    req.headers.authorization = `Bearer ${token}`;
    next();
  };
}
