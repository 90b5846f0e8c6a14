import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, as, call, type Client } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { openStream } from '../helpers/stream.js';

let hub: TestHub;
let alice: Client & { name: string };
let bob: Client & { name: string };
let carol: Client & { name: string };
let admin: Client;

beforeEach(async () => {
  hub = await startTestHub();
  alice = await addAgent(hub, 'alice');
  bob = await addAgent(hub, 'bob');
  carol = await addAgent(hub, 'carol');
  admin = as(hub, hub.adminToken);
});
afterEach(async () => {
  await hub.stop();
});

const send = (from: Client, to: unknown, extra: Record<string, unknown> = {}) =>
  from.post('/api/messages', { to, subject: 'hello', body: 'how are you?', ...extra });

describe('sending', () => {
  it('sends to one agent: 201 with the stored message, in a new thread, unread', async () => {
    const res = await send(alice, 'bob');
    expect(res.status).toBe(201);
    expect(res.body.messages).toHaveLength(1);
    const [message] = res.body.messages;
    expect(message).toMatchObject({ from: 'alice', to: 'bob', subject: 'hello', body: 'how are you?', inReplyTo: null, readAt: null });
    expect(message.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(message.threadId).toMatch(/^[0-9a-f-]{36}$/);
    expect(message.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect((await bob.get('/api/inbox')).body.messages).toEqual([message]);
  });

  it('sends to a list: one message per recipient, duplicates once, all in one thread', async () => {
    const res = await send(alice, ['bob', 'carol', 'bob']);
    expect(res.status).toBe(201);
    expect(res.body.messages.map((m: any) => m.to)).toEqual(['bob', 'carol']);
    expect(new Set(res.body.messages.map((m: any) => m.threadId)).size).toBe(1);
    expect(new Set(res.body.messages.map((m: any) => m.id)).size).toBe(2);
    expect((await carol.get('/api/inbox')).body.messages).toHaveLength(1);
    expect((await alice.get('/api/inbox')).body.messages).toHaveLength(0);
  });

  it('sends to ALL: every other agent, never the sender', async () => {
    await addAgent(hub, 'dave');
    const res = await send(alice, 'ALL');
    expect(res.status).toBe(201);
    expect(res.body.messages.map((m: any) => m.to)).toEqual(['bob', 'carol', 'dave']);
    expect((await alice.get('/api/inbox')).body.messages).toEqual([]);
  });

  it('refuses an unknown recipient with 422 unknown_agent and stores nothing', async () => {
    const res = await send(alice, ['bob', 'nobody']);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('unknown_agent');
    expect(res.body.error.message).toContain('nobody');
    expect(res.body.error.details).toEqual([{ path: 'to[1]', message: 'there is no agent named "nobody"' }]);
    expect((await bob.get('/api/inbox')).body.messages).toEqual([]);
  });

  it('validates the body: 400 with each bad field, nothing stored', async () => {
    const cases: unknown[] = [
      { to: 'Bob', subject: 's', body: 'b' },
      { to: [], subject: 's', body: 'b' },
      { to: 'bob', subject: '', body: 'b' },
      { to: 'bob', subject: 'x'.repeat(201), body: 'b' },
      { to: 'bob', subject: 's', body: 'x'.repeat(10_001) },
      { to: 'bob', subject: 's' },
      { to: 'bob', subject: 's', body: 'b', inReplyTo: 'not-a-uuid' },
      { to: 'bob', subject: 's', body: 'b', extra: 1 },
      { to: Array.from({ length: 101 }, () => 'bob'), subject: 's', body: 'b' },
    ];
    for (const body of cases) {
      const res = await alice.post('/api/messages', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.length).toBeGreaterThan(0);
    }
    expect((await bob.get('/api/inbox')).body.messages).toEqual([]);
  });

  it('lets an admin send under its token subject, and an agent answer the admin in the thread', async () => {
    const res = await send(admin, 'ALL', { subject: 'maintenance' });
    expect(res.status).toBe(201);
    expect(res.body.messages.map((m: any) => m.to)).toEqual(['alice', 'bob', 'carol']);
    expect(res.body.messages[0].from).toBe('admin');
    const toBob = res.body.messages[1];
    const reply = await send(bob, 'admin', { subject: 'ok', inReplyTo: toBob.id });
    expect(reply.status).toBe(201);
    expect(reply.body.messages[0]).toMatchObject({ from: 'bob', to: 'admin', threadId: toBob.threadId });
    const thread = await admin.get(`/api/threads/${toBob.threadId}`);
    expect(thread.body.messages.map((m: any) => `${m.from}>${m.to}`)).toContain('bob>admin');
    // Only the sender of the message answered may be addressed that way.
    expect((await send(bob, 'admin')).status).toBe(422);
  });
});

describe('threads', () => {
  it('continues a thread with inReplyTo and shows it to participants, oldest first', async () => {
    const first = (await send(alice, ['bob', 'carol'], { subject: 'plan' })).body.messages;
    const threadId = first[0].threadId;
    const reply = await bob.post('/api/messages', { to: 'alice', subject: 'Re: plan', body: 'yes', inReplyTo: first[0].id });
    expect(reply.status).toBe(201);
    expect(reply.body.messages[0]).toMatchObject({ threadId, inReplyTo: first[0].id });
    for (const viewer of [alice, bob, carol, admin]) {
      const res = await viewer.get(`/api/threads/${threadId}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ threadId, subject: 'plan', participants: ['alice', 'bob', 'carol'], nextCursor: null });
      expect(res.body.messages.map((m: any) => `${m.from}>${m.to}`)).toEqual(['alice>bob', 'alice>carol', 'bob>alice']);
    }
  });

  it('pages a thread with limit and cursor', async () => {
    const first = (await send(alice, 'bob')).body.messages[0];
    for (let i = 0; i < 4; i++) await send(bob, 'alice', { inReplyTo: first.id, body: `r${i}` });
    const one = await alice.get(`/api/threads/${first.threadId}?limit=2`);
    expect(one.body.messages.map((m: any) => m.body)).toEqual(['how are you?', 'r0']);
    const two = await alice.get(`/api/threads/${first.threadId}?limit=2&cursor=${one.body.nextCursor}`);
    expect(two.body.messages.map((m: any) => m.body)).toEqual(['r1', 'r2']);
    const three = await alice.get(`/api/threads/${first.threadId}?limit=2&cursor=${two.body.nextCursor}`);
    expect(three.body).toMatchObject({ nextCursor: null });
    expect(three.body.messages.map((m: any) => m.body)).toEqual(['r3']);
  });

  it('lets a participant reply to any message of the thread it can see', async () => {
    const first = (await send(alice, ['bob', 'carol'])).body.messages;
    // carol was not party to alice>bob, but it is in her thread.
    const res = await send(carol, 'bob', { inReplyTo: first[0].id });
    expect(res.status).toBe(201);
    expect(res.body.messages[0].threadId).toBe(first[0].threadId);
  });

  it('answers 404 to a reply to a message the sender cannot see, and stores nothing', async () => {
    const private1 = (await send(alice, 'bob')).body.messages[0];
    const res = await send(carol, 'alice', { inReplyTo: private1.id });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    const unknown = await send(carol, 'alice', { inReplyTo: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.status).toBe(404);
    expect((await alice.get('/api/inbox')).body.messages).toEqual([]);
  });
});

describe('the participant check on every read path', () => {
  it('gives a non-participant 404 for the thread, the message and its read mark; the same as for unknown ids', async () => {
    const message = (await send(alice, 'bob')).body.messages[0];
    const unknownId = '00000000-0000-4000-8000-000000000000';
    const paths: [string, string][] = [
      ['GET', `/api/threads/${message.threadId}`],
      ['GET', `/api/messages/${message.id}`],
      ['POST', `/api/messages/${message.id}/read`],
    ];
    for (const [method, path] of paths) {
      const res = await call(hub, carol.token, method, path, method === 'POST' ? {} : undefined);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('not_found');
      const unknown = await call(hub, carol.token, method, path.replace(message.id, unknownId).replace(message.threadId, unknownId), method === 'POST' ? {} : undefined);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.message.replace(unknownId, 'X')).toBe(res.body.error.message.replace(/[0-9a-f-]{36}/, 'X'));
    }
    expect((await carol.get('/api/inbox')).body.messages).toEqual([]);
    // The participants and an admin see it.
    expect((await alice.get(`/api/messages/${message.id}`)).status).toBe(200);
    expect((await bob.get(`/api/messages/${message.id}`)).status).toBe(200);
    expect((await admin.get(`/api/messages/${message.id}`)).status).toBe(200);
    expect((await admin.get(`/api/threads/${message.threadId}`)).status).toBe(200);
    expect((await bob.get(`/api/messages/${message.id}`)).body.message.readAt).toBeNull();
  });

  it('lets only the recipient mark a message read: 403 for the sender and an admin', async () => {
    const message = (await send(alice, 'bob')).body.messages[0];
    const bySender = await alice.post(`/api/messages/${message.id}/read`);
    expect(bySender.status).toBe(403);
    expect(bySender.body.error.code).toBe('forbidden');
    expect((await admin.post(`/api/messages/${message.id}/read`)).status).toBe(403);
    const byRecipient = await bob.post(`/api/messages/${message.id}/read`);
    expect(byRecipient.status).toBe(200);
    expect(Date.parse(byRecipient.body.message.readAt)).not.toBeNaN();
    const again = await bob.post(`/api/messages/${message.id}/read`);
    expect(again.body.message.readAt).toBe(byRecipient.body.message.readAt);
  });

  it('keeps the inbox for agents: an admin gets 403', async () => {
    const res = await admin.get('/api/inbox');
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });
});

describe('inbox', () => {
  it('lists oldest first, filters unread, marks read on request', async () => {
    for (const subject of ['one', 'two', 'three']) await send(alice, 'bob', { subject });
    const all = await bob.get('/api/inbox');
    expect(all.body).toMatchObject({ nextCursor: null });
    expect(all.body.messages.map((m: any) => m.subject)).toEqual(['one', 'two', 'three']);
    await bob.post(`/api/messages/${all.body.messages[1].id}/read`);

    const unread = await bob.get('/api/inbox?unread=true');
    expect(unread.body.messages.map((m: any) => m.subject)).toEqual(['one', 'three']);
    expect(unread.body.messages.every((m: any) => m.readAt === null)).toBe(true);

    const taken = await bob.get('/api/inbox?unread=true&markRead=true');
    expect(taken.body.messages.map((m: any) => m.subject)).toEqual(['one', 'three']);
    expect(taken.body.messages.every((m: any) => typeof m.readAt === 'string')).toBe(true);
    expect((await bob.get('/api/inbox?unread=true')).body.messages).toEqual([]);
    expect((await bob.get('/api/inbox?unread=false')).body.messages).toHaveLength(3);
  });

  it('pages with limit and cursor; markRead marks only the page it returns', async () => {
    for (let i = 0; i < 5; i++) await send(alice, 'bob', { subject: `m${i}` });
    const first = await bob.get('/api/inbox?unread=true&markRead=true&limit=2');
    expect(first.body.messages.map((m: any) => m.subject)).toEqual(['m0', 'm1']);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await bob.get(`/api/inbox?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.messages.map((m: any) => m.subject)).toEqual(['m2', 'm3']);
    const third = await bob.get(`/api/inbox?limit=2&cursor=${second.body.nextCursor}`);
    expect(third.body).toMatchObject({ nextCursor: null });
    expect(third.body.messages.map((m: any) => m.subject)).toEqual(['m4']);
    expect((await bob.get('/api/inbox?unread=true')).body.messages.map((m: any) => m.subject)).toEqual(['m2', 'm3', 'm4']);
  });

  it('refuses bad query values with 400', async () => {
    for (const query of ['unread=yes', 'limit=0', 'limit=201', 'cursor=bogus', 'other=1']) {
      const res = await bob.get(`/api/inbox?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
  });
});

describe('message events', () => {
  it('pushes a message event to each connected recipient, and only to it', async () => {
    const bobStream = openStream(hub.url, bob.token);
    const carolStream = openStream(hub.url, carol.token);
    const aliceStream = openStream(hub.url, alice.token);
    const adminStream = openStream(hub.url, hub.adminToken);
    const streams = [bobStream, carolStream, aliceStream, adminStream];
    await Promise.all(streams.map((s) => s.waitFor((e) => e.some((x) => x.type === 'ready'))));

    const sent = (await send(alice, 'ALL', { subject: 'news' })).body.messages;
    const toBob = sent.find((m: any) => m.to === 'bob');
    const [event] = (await bobStream.waitFor((e) => e.some((x) => x.type === 'message'))).filter((x) => x.type === 'message');
    expect(event!.data).toMatchObject({ type: 'message', messageId: toBob.id, message: toBob });
    expect(event!.lastEventId).toBe(String(event!.data.id));
    await carolStream.waitFor((e) => e.some((x) => x.type === 'message' && x.data.message.to === 'carol'));
    await adminStream.waitFor((e) => e.filter((x) => x.type === 'message').length === 2);

    // Something later for alice proves the broadcast never reached her stream.
    await send(bob, 'alice', { subject: 'back' });
    const aliceEvents = await aliceStream.waitFor((e) => e.some((x) => x.type === 'message'));
    expect(aliceEvents.filter((x) => x.type === 'message').map((x) => x.data.message.subject)).toEqual(['back']);
    expect(bobStream.events().filter((x) => x.type === 'message')).toHaveLength(1);
    for (const s of streams) s.close();
  });

  it('replays missed message events after Last-Event-ID', async () => {
    const first = openStream(hub.url, bob.token);
    await first.waitFor((e) => e.some((x) => x.type === 'ready'));
    await send(alice, 'bob', { subject: 'seen' });
    const [seen] = (await first.waitFor((e) => e.some((x) => x.type === 'message'))).filter((x) => x.type === 'message');
    first.close();
    await send(alice, 'bob', { subject: 'missed 1' });
    await send(carol, 'bob', { subject: 'missed 2' });
    const again = openStream(hub.url, bob.token, { lastEventId: seen!.lastEventId });
    const replayed = await again.waitFor((e) => e.filter((x) => x.type === 'message').length === 2);
    expect(replayed.filter((x) => x.type === 'message').map((x) => x.data.message.subject)).toEqual(['missed 1', 'missed 2']);
    again.close();
  });
});
