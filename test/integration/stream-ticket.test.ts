import { afterEach, describe, expect, it } from 'vitest';
import { addAgent, call } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { MAX_TICKETS_PER_CALLER } from '../../src/http/stream-tickets.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.stop();
  hub = undefined;
});

/** Opens `GET /api/events?ticket=` with no header and reads the status and first bytes, then lets go. */
async function openWithTicket(h: TestHub, ticket: string, route = '/api/events') {
  const controller = new AbortController();
  const res = await fetch(`${h.url}${route}?ticket=${encodeURIComponent(ticket)}`, { signal: controller.signal });
  let first = '';
  if (res.ok) {
    const reader = res.body!.getReader();
    first = new TextDecoder().decode((await reader.read()).value);
  } else {
    first = await res.text();
  }
  controller.abort();
  return { status: res.status, first };
}

describe('stream tickets', () => {
  it('open the caller own stream once, and only the stream', async () => {
    hub = await startTestHub();
    const agent = await addAgent(hub, 'reader');
    const issued = await agent.post('/api/events/ticket');
    expect(issued.status).toBe(200);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeGreaterThan(55_000);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const { ticket } = issued.body as { ticket: string };

    // Not a token anywhere else, and not used up by being tried there.
    expect((await openWithTicket(hub, ticket, '/api/tasks')).status).toBe(401);
    const opened = await openWithTicket(hub, ticket);
    expect(opened.status).toBe(200);
    expect(opened.first).toContain('"agent":"reader"');
    const again = await openWithTicket(hub, ticket);
    expect(again.status).toBe(401);
    expect(JSON.parse(again.first).error.message).toMatch(/unknown, used or expired/);
  });

  it('stand for the token that asked for them: rotating it revokes its tickets', async () => {
    hub = await startTestHub();
    const agent = await addAgent(hub, 'reader');
    const { ticket } = (await agent.post('/api/events/ticket')).body as { ticket: string };
    expect((await call(hub, hub.adminToken, 'POST', '/api/agents/reader/token', {})).status).toBe(200);
    expect((await openWithTicket(hub, ticket)).status).toBe(401);
  });

  it('need a bearer token to be issued, and are limited per caller', async () => {
    hub = await startTestHub();
    expect((await call(hub, undefined, 'POST', '/api/events/ticket', {})).status).toBe(401);
    const agent = await addAgent(hub, 'reader');
    for (let i = 0; i < MAX_TICKETS_PER_CALLER; i++) expect((await agent.post('/api/events/ticket')).status).toBe(200);
    const over = await agent.post('/api/events/ticket');
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('60');
    // Someone else is not held back by it.
    expect((await call(hub, hub.adminToken, 'POST', '/api/events/ticket', {})).status).toBe(200);
  });
});

describe('CORS', () => {
  const preflight = (h: TestHub, origin: string) =>
    fetch(`${h.url}/api/tasks`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

  it('answers preflights of the listed origins only, and is off by default', async () => {
    hub = await startTestHub({ TASKHUB_CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' });
    const allowed = await preflight(hub, 'https://app.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(allowed.headers.get('access-control-max-age')).toBe('600');
    expect((await preflight(hub, 'https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    // A refusal carries the header too, so the page can read why.
    const refused = await fetch(`${hub.url}/api/tasks`, { headers: { origin: 'http://localhost:5173' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(refused.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
    await hub.stop();

    hub = await startTestHub();
    const off = await preflight(hub, 'https://app.example.com');
    expect(off.headers.get('access-control-allow-origin')).toBeNull();
  });
});
