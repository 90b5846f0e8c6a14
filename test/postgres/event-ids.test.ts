import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';

const WRITERS = 6;
const TRANSACTIONS_PER_WRITER = 60;
const READERS = 2;
/** Writers are spread over this many hubs: within one hub the group commit puts them one after another, across
 * hubs only the events lock orders them. */
const HUBS = 3;

const newEvent = (writer: number, n: number) => ({
  type: 'test.event',
  at: Date.now(),
  taskId: null,
  recipients: ['reader'],
  data: JSON.stringify({ writer, n }),
});

describe('PostgreSQL event ids', () => {
  let db: TestDatabase | undefined;
  let store: PostgresStore | undefined;
  const others: PostgresStore[] = [];
  afterEach(async () => {
    await Promise.all(others.splice(0).map((o) => o.close()));
    await store?.close();
    await db?.drop();
  });

  it('never let a reader polling afterId see an id below one it has already seen, whatever concurrent writers on several hubs do', async () => {
    db = await createTestDatabase();
    store = await openPostgresStore(db.url, { max: WRITERS + READERS + 2 });
    const s = store;
    for (let h = 1; h < HUBS; h++) others.push(await openPostgresStore(db.url, { max: 4 }));
    const hubs = [s, ...others];
    let writing = true;
    const violations: string[] = [];
    const seenByReader = Array.from({ length: READERS }, () => [] as number[]);

    const read = async (reader: number) => {
      let last = 0;
      const poll = async () => {
        for (const event of await s.events.listForAgent('reader', last, 1000)) {
          if (event.id <= last) violations.push(`reader ${reader} saw ${event.id} after ${last}`);
          last = event.id;
          seenByReader[reader]!.push(event.id);
        }
      };
      while (writing) await poll();
      await poll();
    };
    // Each transaction draws an id, then keeps working (another statement, another event) before it commits: the
    // window in which a plain sequence lets a later id commit first and be read before the earlier one.
    const write = async (writer: number) => {
      for (let n = 0; n < TRANSACTIONS_PER_WRITER; n++) {
        await hubs[writer % HUBS]!.transaction(async (tx) => {
          await tx.events.append(newEvent(writer, n));
          await tx.tasks.get('none');
          if (n % 2 === 0) await tx.events.append(newEvent(writer, n));
        });
      }
    };
    const readers = Array.from({ length: READERS }, (_, r) => read(r));
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => write(w)));
    writing = false;
    await Promise.all(readers);

    expect(violations).toEqual([]);
    // A late commit of a smaller id shows here: the readers had already moved past it, so they never saw it.
    const all = (await s.events.listAll(0, 100_000)).map((e) => e.id);
    expect(all).toHaveLength(WRITERS * TRANSACTIONS_PER_WRITER * 1.5);
    // Every reader saw every event exactly once, in order.
    for (const seen of seenByReader) expect(seen).toEqual(all);
    expect(await s.events.lastId()).toBe(all.at(-1));
  });
});
