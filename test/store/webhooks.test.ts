import { describe, expect, it } from 'vitest';
import { forEachStore } from './backends.js';
import { addAgents, newEvent } from './fixtures.js';

const hook = (agent: string, fields: Partial<{ url: string; events: string[] | null; secret: string; createdAt: number }> = {}) => ({
  agent, url: 'https://example.com/hook', events: null, secret: 'whsec_one', createdAt: 1_000, ...fields,
});

forEachStore((make) => {
  describe('webhooks', () => {
    it('keeps one webhook per agent, replaced by a put (createdAt stays), removed with a guard on the secret', async () => {
      const { store } = await make();
      await addAgents(store, 'worker');
      expect(await store.webhooks.get('worker')).toBeUndefined();
      expect(await store.webhooks.put(hook('worker', { events: ['message'] }))).toEqual(hook('worker', { events: ['message'] }));
      const replaced = await store.webhooks.put(hook('worker', { url: 'https://example.com/2', secret: 'whsec_two', createdAt: 5_000 }));
      expect(replaced).toEqual(hook('worker', { url: 'https://example.com/2', secret: 'whsec_two' }));
      expect(await store.webhooks.get('worker')).toEqual(replaced);
      // A 410 for the webhook as it was (the old secret) removes nothing.
      expect(await store.webhooks.remove('worker', 'whsec_one')).toBe(false);
      expect(await store.webhooks.remove('worker', 'whsec_two')).toBe(true);
      expect(await store.webhooks.remove('worker')).toBe(false);
    });

    it('goes with its agent', async () => {
      const { store } = await make();
      await addAgents(store, 'worker');
      await store.webhooks.put(hook('worker'));
      expect(await store.agents.remove('worker')).toBe(true);
      expect(await store.webhooks.get('worker')).toBeUndefined();
    });
  });

  describe('outbox channels', () => {
    it('keeps mail and webhook rows apart in claims, due times and counts; one row per event and agent', async () => {
      const { store } = await make();
      await addAgents(store, 'a', 'b');
      const e1 = await store.events.append(newEvent('task.assigned', { recipients: ['a', 'b'] }));
      await store.outbox.enqueue(e1.id, 'a', 'https://example.com/hook', 1_000, 'webhook');
      await store.outbox.enqueue(e1.id, 'a', 'a@example.com', 1_000);
      await store.outbox.enqueue(e1.id, 'b', 'b@example.com', 2_000);
      expect(await store.outbox.nextDueAt('webhook')).toBe(1_000);
      expect(await store.outbox.nextDueAt()).toBe(2_000);
      expect(await store.outbox.counts('webhook')).toEqual({ queued: 1, sent: 0, failed: 0 });
      expect(await store.outbox.counts()).toEqual({ queued: 1, sent: 0, failed: 0 });
      expect(await store.outbox.claimDue(1_500, 9_000)).toBeUndefined();
      const [item] = await store.outbox.claimMany('webhook', 1_500, 9_000, 10);
      expect(item).toMatchObject({ channel: 'webhook', agent: 'a', address: 'https://example.com/hook', attempts: 1, event: { id: e1.id } });
      expect(await store.outbox.claimMany('webhook', 1_500, 9_000, 10)).toEqual([]);
    });

    it('claims several rows in one call, each once, soonest first', async () => {
      const { store, another } = await make();
      await addAgents(store, 'a');
      for (let i = 0; i < 7; i++) {
        const event = await store.events.append(newEvent('message', { recipients: ['a'] }));
        await store.outbox.enqueue(event.id, 'a', 'u', 1_000 + i, 'webhook');
      }
      const other = another();
      const [x, y] = await Promise.all([store.outbox.claimMany('webhook', 5_000, 9_000, 4), other.outbox.claimMany('webhook', 5_000, 9_000, 4)]);
      const ids = [...x, ...y].map((i) => i.id);
      expect(ids).toHaveLength(7);
      expect(new Set(ids).size).toBe(7);
      expect(await store.outbox.nextDueAt('webhook')).toBe(9_000);
    });

    it("counts one agent's rows, lists its newest failed, fails its queued ones and requeues the failed", async () => {
      const { store } = await make();
      await addAgents(store, 'a', 'b');
      const ids: number[] = [];
      for (const agent of ['a', 'a', 'a', 'b']) {
        const event = await store.events.append(newEvent('message', { recipients: [agent] }));
        await store.outbox.enqueue(event.id, agent, 'u', 1_000, 'webhook');
        ids.push(event.id);
      }
      const claimed = await store.outbox.claimMany('webhook', 1_000, 5_000, 2);
      await store.outbox.markSent(claimed[0]!.id, 1_100);
      await store.outbox.markFailed(claimed[1]!.id, 'HTTP 500');
      expect(await store.outbox.agentCounts('a', 'webhook')).toEqual({ queued: 1, sent: 1, failed: 1 });
      expect(await store.outbox.agentCounts('a', 'email')).toEqual({ queued: 0, sent: 0, failed: 0 });
      expect(await store.outbox.failedOf('a', 'webhook', 100)).toEqual([
        { eventId: ids[1], attempts: 1, lastError: 'HTTP 500', lastAttemptAt: 1_000 },
      ]);
      expect(await store.outbox.failQueued('a', 'webhook', 'webhook removed')).toBe(1);
      expect((await store.outbox.failedOf('a', 'webhook', 1))[0]).toMatchObject({ eventId: ids[2], lastError: 'webhook removed', lastAttemptAt: null });
      expect(await store.outbox.agentCounts('b', 'webhook')).toEqual({ queued: 1, sent: 0, failed: 0 });

      expect(await store.outbox.requeueFailed('a', 'webhook', 8_000)).toBe(2);
      expect(await store.outbox.agentCounts('a', 'webhook')).toEqual({ queued: 2, sent: 1, failed: 0 });
      const again = await store.outbox.claimMany('webhook', 8_000, 9_000, 10);
      // Requeued rows start over: a fresh age (createdAt) and backoff (attempts).
      expect(again.filter((i) => i.agent === 'a').map((i) => [i.createdAt, i.attempts])).toEqual([[8_000, 1], [8_000, 1]]);
    });
  });
});
