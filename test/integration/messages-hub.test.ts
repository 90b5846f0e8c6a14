import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HubError } from '../../src/domain/errors.js';
import type { Actor } from '../../src/domain/types.js';
import { createHub, type Hub } from '../../src/hub/index.js';
import type { Store } from '../../src/store/store.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { makeDataDir } from '../helpers/hub.js';

// The hub's message service on a real SQLite file, for what HTTP cannot reach: settings main does not expose
// and the reply that an emailed answer becomes.
let dir: string;
let store: Store;
let hub: Hub;
const agent = (name: string): Actor => ({ name, role: 'agent' });
const admin: Actor = { name: 'ops', role: 'admin' };

beforeEach(async () => {
  dir = makeDataDir();
  store = createSqliteStore(path.join(dir, 'taskhub.db'));
  hub = createHub(store, {
    secret: 'x'.repeat(32),
    leaseSeconds: 300,
    maxAttempts: 3,
    eventRetentionDays: 7,
    maxBroadcastRecipients: 3,
    fanOutChars: 100,
  });
  for (const name of ['a', 'b', 'c', 'd']) await hub.agents.create(admin, { name });
});
afterEach(async () => {
  await hub.stop();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const code = async (fn: () => Promise<unknown>) => {
  try {
    await fn();
  } catch (error) {
    return error instanceof HubError ? error.code : String(error);
  }
  return 'no error';
};

describe('message service', () => {
  it('refuses a broadcast over the recipient cap with too_many_recipients, storing nothing', async () => {
    const lastId = await store.events.lastId();
    expect((await hub.messages.send(agent('a'), { to: 'ALL', subject: 's', body: '' })).messages).toHaveLength(3);
    await hub.agents.create(admin, { name: 'e' });
    expect(await code(() => hub.messages.send(agent('a'), { to: 'ALL', subject: 's', body: '' }))).toBe('too_many_recipients');
    // The cap counts recipients, not agents: an admin (not an agent itself) reaches all five and is refused too.
    expect(await code(() => hub.messages.send(admin, { to: 'ALL', subject: 's', body: '' }))).toBe('too_many_recipients');
    expect(await store.events.lastId()).toBe(lastId + 3);
  });

  it('refuses a send whose copies would exceed the fan-out budget', async () => {
    // 3 copies of 30 characters fit in 100; 3 copies of 40 do not, nor do 4 of 30 on a list.
    expect((await hub.messages.send(agent('a'), { to: 'ALL', subject: 's', body: 'x'.repeat(29) })).messages).toHaveLength(3);
    expect(await code(() => hub.messages.send(agent('a'), { to: 'ALL', subject: 's', body: 'x'.repeat(39) }))).toBe(
      'too_many_recipients',
    );
    expect(await code(() => hub.messages.send(admin, { to: ['a', 'b', 'c', 'd'], subject: 's', body: 'x'.repeat(29) }))).toBe(
      'too_many_recipients',
    );
    expect(await store.messages.inbox({ recipient: 'b', unreadOnly: false, limit: 10 })).toHaveLength(1);
  });

  it('emits one message event per stored message, carrying it, to its recipient only', async () => {
    const { messages } = await hub.messages.send(agent('a'), { to: ['b', 'c'], subject: 's', body: 'x' });
    const events = await store.events.listForAgent('c', 0, 10);
    expect(events.map((e) => e.type)).toEqual(['message']);
    expect(JSON.parse(events[0]!.data)).toEqual({ messageId: messages[1]!.id, message: messages[1] });
  });

  it('checks content for fronts that skip HTTP validation', async () => {
    expect(await code(() => hub.messages.send(agent('a'), { to: 'b', subject: '', body: '' }))).toBe('validation_failed');
    expect(await code(() => hub.messages.send(agent('a'), { to: 'b', subject: 's', body: 'x'.repeat(10_001) }))).toBe(
      'validation_failed',
    );
  });

  it('replies to the sender in the same thread, defaulting the subject', async () => {
    const [original] = (await hub.messages.send(agent('a'), { to: ['b', 'c'], subject: 'question', body: '?' })).messages;
    const [reply] = await hub.messages.reply(agent('b'), original!.id, { body: 'answer' });
    expect(reply).toMatchObject({ from: 'b', to: 'a', subject: 'Re: question', threadId: original!.threadId, inReplyTo: original!.id });
    // Answering one's own message goes to its recipient.
    const [followUp] = await hub.messages.reply(agent('a'), original!.id, { subject: 'more', body: '!' });
    expect(followUp).toMatchObject({ from: 'a', to: 'b', subject: 'more' });
    // Someone outside the thread cannot reply into it.
    expect(await code(() => hub.messages.reply(agent('d'), original!.id, { body: 'me too' }))).toBe('not_found');
  });
});
