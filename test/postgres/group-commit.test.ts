import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CommitFailedError, createGroupCommit, MAX_BATCH_CHANGES } from '../../src/store/postgres/group-commit.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.js';
import { createPool } from '../../src/store/postgres/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';

const task = (id: string, text = 't') => ({
  id, kind: 'task' as const, task: text, payload: null, capability: null, priority: 1, assigner: 'a', target: 'b',
  deadline: null, idempotencyKey: null, createdAt: 1,
});
const event = (taskId: string) => ({ type: 'task.assigned', at: 1, taskId, recipients: ['a', 'b'], data: '{}' });

describe('PostgreSQL group commit', () => {
  let db: TestDatabase | undefined;
  let store: PostgresStore | undefined;
  const pools: pg.Pool[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(pools.splice(0).map((p) => p.end()));
    await store?.close();
    store = undefined;
    await db?.drop();
  });

  const open = async () => {
    db = await createTestDatabase();
    store = await openPostgresStore(db.url, { max: 4, together: true });
    return store;
  };

  it('commits concurrent changes together, at most MAX_BATCH_CHANGES to one transaction', async () => {
    await open();
    const writer = createPool(db!.url, { max: 1 }, { pipeline: true });
    pools.push(writer);
    const commit = createGroupCommit(writer, { together: true });
    const count = MAX_BATCH_CHANGES + 36;
    // Each change reads the id of the transaction it runs in: changes of one batch share it.
    const xids = await Promise.all(
      Array.from({ length: count }, () =>
        commit.transaction(async (s) => (await s.rows<{ x: string }>('SELECT pg_current_xact_id()::text AS x'))[0]!.x),
      ),
    );
    const perTransaction = new Map<string, number>();
    for (const x of xids) perTransaction.set(x, (perTransaction.get(x) ?? 0) + 1);
    expect(perTransaction.size).toBeGreaterThanOrEqual(2);
    expect(perTransaction.size).toBeLessThan(count / 4);
    expect(Math.max(...perTransaction.values())).toBeLessThanOrEqual(MAX_BATCH_CHANGES);
  });

  it('rolls a change whose statement fails back alone, and keeps the rest of its batch', async () => {
    const s = await open();
    await s.tasks.insert(task('taken'));
    const outcomes = await Promise.allSettled([
      s.transaction(async (tx) => {
        await tx.tasks.insert(task('first'));
        await tx.events.append(event('first'));
      }),
      // A duplicate id: the INSERT fails inside the batch.
      s.transaction(async (tx) => {
        await tx.tasks.insert(task('doomed'));
        await tx.tasks.insert(task('taken'));
      }),
      // A fn that catches its own failed statement is not kept either: PostgreSQL refuses what would follow it.
      s.transaction(async (tx) => {
        await tx.tasks.insert(task('swallowed'));
        await tx.tasks.insert(task('taken')).catch(() => {});
        return 'fine';
      }),
      s.transaction(async (tx) => {
        await tx.tasks.insert(task('last'));
        await tx.events.append(event('last'));
      }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    for (const o of outcomes.slice(1, 3)) expect(String((o as PromiseRejectedResult).reason)).toMatch(/duplicate key/);
    const kept = await Promise.all(['first', 'doomed', 'swallowed', 'last'].map(async (id) => (await s.tasks.get(id))?.id));
    expect(kept).toEqual(['first', undefined, undefined, 'last']);
    expect((await s.events.listAll(0, 10)).map((e) => e.taskId)).toEqual(['first', 'last']);
  });

  it('rejects every change of a batch whose COMMIT fails, keeps none of them, and goes on', async () => {
    const s = await open();
    // Checked only at COMMIT: each change alone is fine, the batch together is not.
    const admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    await admin.query('ALTER TABLE tasks ADD CONSTRAINT one_text UNIQUE (task) DEFERRABLE INITIALLY DEFERRED');
    await admin.end();
    const outcomes = await Promise.allSettled(
      [['x', 'same'], ['y', 'same'], ['z', 'other']].map(([id, text]) =>
        s.transaction(async (tx) => {
          await tx.tasks.insert(task(id!, text));
          await tx.events.append(event(id!));
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const o of outcomes) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(CommitFailedError);
    expect(await Promise.all(['x', 'y', 'z'].map((id) => s.tasks.get(id)))).toEqual([undefined, undefined, undefined]);
    expect(await s.events.lastId()).toBe(0);
    await s.transaction(async (tx) => {
      await tx.tasks.insert(task('after'));
      await tx.events.append(event('after'));
    });
    expect((await s.tasks.get('after'))?.id).toBe('after');
  });

  it('runs the changes of a batch together: a change that throws before writing leaves the others run once', async () => {
    const s = await open();
    await s.tasks.insert(task('known'));
    const runs = new Map<string, number>();
    const counted = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);
    const outcomes = await Promise.allSettled([
      s.transaction(async (tx) => {
        counted('writer');
        await tx.tasks.insert(task('written'));
        await tx.events.append(event('written'));
      }),
      s.transaction(async (tx) => {
        counted('reader');
        if (await tx.tasks.get('known')) throw new Error('refused after a read');
      }),
      // A guarded update that matches nothing wrote nothing either.
      s.transaction(async (tx) => {
        counted('guarded');
        const moved = await tx.tasks.transition('known', ['claimed'], 'completed', {}, 2);
        if (!moved) throw new Error('not claimed');
      }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(Object.fromEntries(runs)).toEqual({ writer: 1, reader: 1, guarded: 1 });
    expect((await s.tasks.get('written'))?.id).toBe('written');
  });

  it('runs a batch again one by one when a change that wrote throws: the others are kept, it alone rolls back', async () => {
    const s = await open();
    const runs = new Map<string, number>();
    const counted = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);
    const outcomes = await Promise.allSettled([
      s.transaction(async (tx) => {
        counted('kept');
        await tx.tasks.insert(task('kept'));
      }),
      s.transaction(async (tx) => {
        counted('thrower');
        await tx.tasks.insert(task('undone'));
        throw new Error('changed its mind');
      }),
      s.transaction(async (tx) => {
        counted('also kept');
        await tx.tasks.insert(task('also kept'));
      }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/changed its mind/);
    expect(await Promise.all(['kept', 'undone', 'also kept'].map(async (id) => (await s.tasks.get(id))?.id))).toEqual([
      'kept', undefined, 'also kept',
    ]);
    // Together first, then one by one.
    expect(Object.fromEntries(runs)).toEqual({ kept: 2, thrower: 2, 'also kept': 2 });
  });

  it('keeps two changes of one batch from spending the same rate-limit bucket at once, and counts both', async () => {
    const s = await open();
    const spend = () =>
      s.transaction(async (tx) => {
        const fullAt = await tx.rateLimits.lock('test', 'caller');
        // Another change of the batch runs meanwhile; without serialize it would read the same fullAt.
        await tx.tasks.get('nothing');
        await tx.rateLimits.save('test', 'caller', fullAt + 10);
      });
    await Promise.all(Array.from({ length: 8 }, spend));
    expect(await s.rateLimits.peek('test', 'caller')).toBe(80);
  });

  it('runs a batch one by one when two of its changes would wait for each other’s keys, and finishes both', async () => {
    const s = await open();
    const both = (first: string, second: string) =>
      s.transaction(async (tx) => {
        const a = await tx.rateLimits.lock('test', first);
        await tx.tasks.get('nothing');
        const b = await tx.rateLimits.lock('test', second);
        await tx.rateLimits.save('test', first, a + 1);
        await tx.rateLimits.save('test', second, b + 1);
      });
    await Promise.all([both('x', 'y'), both('y', 'x')]);
    expect([await s.rateLimits.peek('test', 'x'), await s.rateLimits.peek('test', 'y')]).toEqual([2, 2]);
  });

  it('settles a change queued just as its batch finishes, whatever the moment (it goes to the next batch)', async () => {
    await open();
    const writer = createPool(db!.url, { max: 1 }, { pipeline: true });
    pools.push(writer);
    const commit = createGroupCommit(writer, { together: true });
    const hop = (n: number): Promise<void> => (n === 0 ? Promise.resolve() : Promise.resolve().then(() => hop(n - 1)));
    // The second change is queued 0, 1, 2, … microtask hops after the first one's fn returned: one of them lands
    // between the batch's last member ending and its COMMIT.
    for (let hops = 0; hops < 16; hops++) {
      let second: Promise<unknown> | undefined;
      const first = commit.transaction(async (s) => {
        await s.rows('SELECT 1');
        void hop(hops).then(() => (second = commit.transaction(async (t) => t.rows('SELECT 2'))));
        return hops;
      });
      expect(await first).toBe(hops);
      await hop(hops + 2);
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), 2000)));
      const settled = await Promise.race([second!.then(() => 'settled'), hung]);
      clearTimeout(timer);
      expect(settled).toBe('settled');
    }
  });
  it('runs a batch whose start was delayed past JOIN_MS (its process descheduled) and every change behind it', async () => {
    await open();
    const writer = createPool(db!.url, { max: 1 }, { pipeline: true });
    pools.push(writer);
    const commit = createGroupCommit(writer, { together: true });
    // A loaded machine can stop the process for milliseconds between any two lines; here every reading of the
    // clock finds JOIN_MS gone by since the one before.
    const realNow = Date.now.bind(Date);
    let readings = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 10 * readings++);
    const changes = Promise.all(
      Array.from({ length: 5 }, (_, i) => commit.transaction(async (s) => (await s.rows<{ n: number }>('SELECT $1::int AS n', [i]))[0]!.n)),
    );
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), 3000)));
    const settled = await Promise.race([changes, hung]);
    clearTimeout(timer);
    expect(settled).toEqual([0, 1, 2, 3, 4]);
  });
});
