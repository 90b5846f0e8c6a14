import { expect, it } from 'vitest';
import { forEachStore } from './backends.js';

// The Store contract for rate-limit buckets: GCRA state per (policy, key), spent inside the spending transaction.
forEachStore((make) => {
  it('reads an unknown bucket as 0, keeps what a transaction saved, and nothing of one that rolled back', async () => {
    const { store, another } = await make();
    expect(await store.rateLimits.peek('sends', 'boss')).toBe(0);
    await store.transaction(async (tx) => {
      expect(await tx.rateLimits.lock('sends', 'boss')).toBe(0);
      await tx.rateLimits.save('sends', 'boss', 5_000);
    });
    expect(await another().rateLimits.peek('sends', 'boss')).toBe(5_000);
    expect(await store.rateLimits.peek('broadcasts', 'boss')).toBe(0);
    await expect(
      store.transaction(async (tx) => {
        await tx.rateLimits.save('sends', 'boss', (await tx.rateLimits.lock('sends', 'boss')) + 1_000);
        throw new Error('the creation failed');
      }),
    ).rejects.toThrow('the creation failed');
    expect(await store.rateLimits.peek('sends', 'boss')).toBe(5_000);
  });

  it('serialises spenders of one bucket on several stores: every increment counts', async () => {
    const { store, another } = await make();
    const stores = [store, another(), another()];
    const spend = (s: typeof store) =>
      s.transaction(async (tx) => {
        const fullAt = await tx.rateLimits.lock('sends', 'boss');
        await tx.rateLimits.save('sends', 'boss', fullAt + 1);
      });
    await Promise.all(stores.flatMap((s) => Array.from({ length: 5 }, () => spend(s))));
    expect(await store.rateLimits.peek('sends', 'boss')).toBe(15);
  });

  it('prunes the buckets that are full again', async () => {
    const { store } = await make();
    await store.transaction(async (tx) => {
      await tx.rateLimits.lock('sends', 'a');
      await tx.rateLimits.save('sends', 'a', 1_000);
      await tx.rateLimits.lock('sends', 'b');
      await tx.rateLimits.save('sends', 'b', 3_000);
    });
    expect(await store.rateLimits.prune(2_000)).toBe(1);
    expect(await store.rateLimits.peek('sends', 'a')).toBe(0);
    expect(await store.rateLimits.peek('sends', 'b')).toBe(3_000);
  });
});
