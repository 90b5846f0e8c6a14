import { describe, expect, it } from 'vitest';
import { createStreamTickets, TICKET_TTL_MS } from '../../src/http/stream-tickets.js';

describe('createStreamTickets', () => {
  it('redeems a ticket once, within its 60 s, for the token it was issued for', () => {
    let now = 1_000_000;
    const tickets = createStreamTickets({ now: () => now });
    const a = tickets.issue('reader', 'token-a');
    const b = tickets.issue('reader', 'token-b');
    expect(tickets.redeem(a.ticket)).toBe('token-a');
    expect(tickets.redeem(a.ticket)).toBeUndefined();
    now += TICKET_TTL_MS;
    expect(tickets.redeem(b.ticket)).toBeUndefined();
    expect(tickets.size()).toBe(0);
  });

  it('frees a caller slot when a ticket is used or expires', () => {
    let now = 0;
    const tickets = createStreamTickets({ now: () => now, perCaller: 2, max: 3 });
    const first = tickets.issue('a', 't');
    tickets.issue('a', 't');
    expect(() => tickets.issue('a', 't')).toThrow(expect.objectContaining({ code: 'rate_limited' }));
    tickets.redeem(first.ticket);
    tickets.issue('a', 't');
    tickets.issue('b', 't');
    expect(() => tickets.issue('c', 't')).toThrow(expect.objectContaining({ code: 'overloaded' }));
    now += TICKET_TTL_MS;
    expect(() => tickets.issue('a', 't')).not.toThrow();
    expect(tickets.size()).toBe(1);
  });
});
