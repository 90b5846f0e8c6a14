import { describe, expect, it } from 'vitest';
import { forEachStore } from './backends.js';
import { addAgents, newEvent } from './fixtures.js';

forEachStore((make) => {
  describe('events', () => {
    it('gives increasing ids, replays each agent its own, and reads a task history by seq', async () => {
      const { store } = await make();
      const a = await store.events.append(newEvent('one', { recipients: ['x', 'y'], taskId: 't', taskSeq: 7 }));
      const b = await store.events.append(newEvent('two', { recipients: ['y'] }));
      const c = await store.events.append(newEvent('three', { recipients: ['x'], taskId: 't', taskSeq: 7 }));
      expect(b.id).toBeGreaterThan(a.id);
      expect(c.id).toBeGreaterThan(b.id);
      expect(await store.events.lastId()).toBe(c.id);
      expect((await store.events.listForAgent('x', 0, 10)).map((e) => e.type)).toEqual(['one', 'three']);
      expect((await store.events.listForAgent('y', a.id, 10)).map((e) => e.type)).toEqual(['two']);
      expect((await store.events.listAll(0, 2)).map((e) => e.type)).toEqual(['one', 'two']);
      expect((await store.events.listForTask(7, 0, 10)).events.map((e) => e.id)).toEqual([a.id, c.id]);
      expect(await store.events.listForTask(7, 0, 1)).toMatchObject({ events: [{ id: a.id }], more: true });
      expect((await store.events.listForTask(7, a.id, 10)).events.map((e) => e.id)).toEqual([c.id]);
      expect(await store.events.listForAgent('x', 0, 1)).toEqual([
        { id: a.id, type: 'one', at: 1_000, taskId: 't', recipients: ['x'], data: a.data },
      ]);
    });

    it('prunes replay before a time, keeping the events as history', async () => {
      const { store } = await make();
      const old = await store.events.append(newEvent('old', { at: 1_000 }));
      await store.events.append(newEvent('new', { at: 9_000 }));
      expect(await store.events.prunedThrough()).toBe(0);
      expect(await store.events.pruneBefore(5_000)).toBe(old.id);
      expect(await store.events.prunedThrough()).toBe(old.id);
      expect((await store.events.listForAgent('worker', 0, 10)).map((e) => e.type)).toEqual(['new']);
      expect((await store.events.listAll(0, 10)).map((e) => e.type)).toEqual(['old', 'new']);
      // Nothing more to prune: the mark stays.
      expect(await store.events.pruneBefore(5_000)).toBe(old.id);
    });
  });

  describe('messages', () => {
    it('keeps an inbox per recipient, marks read once, and knows a thread and its participants', async () => {
      const { store } = await make();
      await addAgents(store, 'a', 'b', 'c');
      const base = { threadId: 'th', from: 'a', subject: 's', body: 'b', inReplyTo: null, createdAt: 1_000 };
      const m1 = await store.messages.insert({ ...base, id: 'm1', to: 'b' });
      await store.messages.insert({ ...base, id: 'm2', to: 'c' });
      await store.messages.insert({ ...base, id: 'm3', from: 'b', to: 'a', inReplyTo: 'm1' });
      expect((await store.messages.inbox({ recipient: 'b', unreadOnly: true, limit: 10 })).map((m) => m.id)).toEqual(['m1']);
      expect(await store.messages.markRead('m1', 2_000)).toMatchObject({ id: 'm1', readAt: 2_000 });
      expect(await store.messages.markRead('m1', 3_000)).toBeUndefined();
      expect(await store.messages.inbox({ recipient: 'b', unreadOnly: true, limit: 10 })).toEqual([]);
      expect((await store.messages.inbox({ recipient: 'b', unreadOnly: false, afterSeq: m1.seq, limit: 10 }))).toEqual([]);
      expect((await store.messages.thread('th', 0, 10)).map((m) => m.id)).toEqual(['m1', 'm2', 'm3']);
      expect((await store.messages.firstOfThread('th'))?.id).toBe('m1');
      expect(await store.messages.participants('th')).toEqual(['a', 'b', 'c']);
      expect(await store.messages.isParticipant('th', 'c')).toBe(true);
      expect(await store.messages.isParticipant('th', 'd')).toBe(false);
      expect(await store.messages.broadcastAudience('a', 10)).toEqual(['b', 'c']);
      expect(await store.messages.broadcastAudience('a', 1)).toEqual(['b']);
    });
  });

  describe('outbox', () => {
    it('queues once per event and agent, settles rows, and counts them', async () => {
      const { store } = await make();
      await addAgents(store, 'worker');
      const event = await store.events.append(newEvent('task.assigned'));
      await store.outbox.enqueue(event.id, 'worker', 'w@example.com', 1_000);
      await store.outbox.enqueue(event.id, 'worker', 'w@example.com', 1_000);
      expect(await store.outbox.nextDueAt()).toBe(1_000);
      const item = await store.outbox.claimDue(1_000, 2_000);
      expect(await store.outbox.nextDueAt()).toBe(2_000);
      await store.outbox.retryAt(item!.id, 3_000, 'busy');
      expect(await store.outbox.claimDue(2_999, 4_000)).toBeUndefined();
      await store.outbox.markSent((await store.outbox.claimDue(3_000, 9_000))!.id, 3_500);
      expect(await store.outbox.counts()).toEqual({ queued: 0, sent: 1, failed: 0 });
      expect(await store.outbox.nextDueAt()).toBeUndefined();
      // Settling a row that is no longer queued changes nothing.
      await store.outbox.markFailed(item!.id, 'late');
      expect(await store.outbox.counts()).toEqual({ queued: 0, sent: 1, failed: 0 });
    });

    it('keeps one instance id for the database', async () => {
      const { store, another } = await make();
      const id = await store.outbox.instanceId();
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      expect(await another().outbox.instanceId()).toBe(id);
    });
  });

  describe('dev mailbox', () => {
    it('keeps the newest mails up to the cap, newest first, by recipient in lower case', async () => {
      const { store } = await make();
      const mail = (to: string, subject: string) => ({ from: 'hub@x', to, subject, headers: { 'x-a': '1' }, text: 't',
        json: subject === 'two' ? { n: 2 } : null, receivedAt: 1_000 });
      await store.devMailbox.add([mail('a@x', 'one'), mail('b@x', 'two'), mail('a@x', 'three')], { maxMails: 2, maxBytes: 1 << 20 });
      const list = async (to?: string) =>
        store.devMailbox.listPreviews({ limit: 10, previewChars: 100, ...(to !== undefined && { to }) });
      expect((await list()).map((m) => m.subject)).toEqual(['three', 'two']);
      expect((await list('A@X')).map((m) => m.subject)).toEqual(['three']);
      const [two] = await list('b@x');
      expect(two).toMatchObject({ jsonText: '{"n":2}', cut: false, headers: { 'x-a': '1' } });
      expect(await store.devMailbox.get(two!.id)).toMatchObject({ json: { n: 2 }, subject: 'two' });
    });
  });
});
