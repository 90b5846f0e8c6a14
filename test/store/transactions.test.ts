import { expect, it } from 'vitest';
import { forEachStore } from './backends.js';
import { addAgents, newEvent, newTask } from './fixtures.js';

// The Store contract: what every implementation promises about transactions, reads and claims.
forEachStore((make) => {
  it('commits every write of a transaction together, and resolves with what fn returned', async () => {
    const { store, another } = await make();
    const result = await store.transaction(async (tx) => {
      const task = await tx.tasks.insert(newTask());
      await tx.events.append(newEvent('task.assigned', { taskId: task.id, taskSeq: task.seq }));
      return task.id;
    });
    // Resolved means durable: another store on the database sees both rows.
    const other = another();
    expect((await other.tasks.get(result))?.status).toBe('assigned');
    expect((await other.events.listAll(0, 10)).map((e) => e.taskId)).toEqual([result]);
  });

  it('keeps nothing of a transaction whose fn throws, and rejects with its error', async () => {
    const { store } = await make();
    const failure = new Error('changed my mind');
    const attempt = store.transaction(async (tx) => {
      await tx.tasks.insert(newTask({ id: 'doomed' }));
      await tx.events.append(newEvent('task.assigned'));
      throw failure;
    });
    await expect(attempt).rejects.toBe(failure);
    expect(await store.tasks.get('doomed')).toBeUndefined();
    expect(await store.events.lastId()).toBe(0);
    // The store goes on.
    await store.tasks.insert(newTask({ id: 'next' }));
    expect((await store.tasks.get('next'))?.id).toBe('next');
  });

  it('never shows a read the rows of a transaction that has not committed', async () => {
    const { store } = await make();
    const writing = store.transaction(async (tx) => {
      await tx.tasks.insert(newTask({ id: 'in-flight' }));
      await tx.events.append(newEvent('task.assigned'));
      throw new Error('rolled back');
    });
    // Asked for while the transaction above is open (it has written, not committed).
    const reads = Promise.all([store.tasks.get('in-flight'), store.events.lastId(), store.events.listAll(0, 10)]);
    await expect(writing).rejects.toThrow('rolled back');
    expect(await reads).toEqual([undefined, 0, []]);
  });

  it('sees its own writes inside the transaction', async () => {
    const { store } = await make();
    const seen = await store.transaction(async (tx) => {
      await tx.tasks.insert(newTask({ id: 'mine' }));
      return (await tx.tasks.get('mine'))?.id;
    });
    expect(seen).toBe('mine');
  });

  it('rejects the use of a transaction after its fn has settled', async () => {
    const { store } = await make();
    const leaked = await store.transaction(async (tx) => tx);
    await expect(leaked.tasks.get('anything')).rejects.toThrow(/over/);
    await expect(leaked.tasks.insert(newTask({ id: 'late' }))).rejects.toThrow(/over/);
    expect(await store.tasks.get('late')).toBeUndefined();
  });

  it('runs concurrent transactions apart: each keeps its own writes, one failing takes none of the others', async () => {
    const { store } = await make();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.transaction(async (tx) => {
          await tx.tasks.insert(newTask({ id: `t${i}` }));
          if (i % 4 === 0) throw new Error(`no ${i}`);
          return i;
        }),
      ),
    );
    const kept = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    expect(kept).toEqual([1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19]);
    const stored = await store.tasks.list({ limit: 100 });
    expect(stored.map((t) => t.id).sort()).toEqual(kept.map((i) => `t${i}`).sort());
  });

  it('lets exactly one of several concurrent guarded transitions win (a claim)', async () => {
    const { store, another } = await make();
    const task = await store.tasks.insert(newTask());
    const other = another();
    const claims = await Promise.all(
      [store, other, store, other].map((s, i) =>
        s.tasks.transition(task.id, ['assigned'], 'claimed', { claimedAt: 2_000 + i }, 2_000 + i),
      ),
    );
    expect(claims.filter((c) => c !== undefined)).toHaveLength(1);
    expect((await store.tasks.get(task.id))?.status).toBe('claimed');
  });

  it('hands each due outbox row to one claimant, hidden until its claim ends', async () => {
    const { store, another } = await make();
    await addAgents(store, 'worker');
    const event = await store.events.append(newEvent('task.assigned'));
    await store.outbox.enqueue(event.id, 'worker', 'worker@example.com', 1_000);
    const other = another();
    const claims = await Promise.all([store, other, store, other].map((s) => s.outbox.claimDue(2_000, 60_000)));
    const won = claims.filter((c) => c !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ agent: 'worker', address: 'worker@example.com', attempts: 1, event: { id: event.id } });
    expect(await store.outbox.claimDue(59_999, 120_000)).toBeUndefined();
    // A claimant that died leaves the row to be claimed again once the claim ends.
    expect(await other.outbox.claimDue(60_000, 120_000)).toMatchObject({ id: won[0]!.id, attempts: 2 });
  });

  it('rejects every call once closed, and close() twice is fine', async () => {
    const { store } = await make();
    await store.close();
    await store.close();
    await expect(store.tasks.get('x')).rejects.toThrow(/closed/);
    await expect(store.transaction(async () => 1)).rejects.toThrow(/closed/);
  });
});
