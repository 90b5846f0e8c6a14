import net from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { HubError } from '../../src/domain/errors.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

describe('PostgreSQL store: claims across connections, and faults', () => {
  let db: TestDatabase | undefined;
  const stores: PostgresStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await db?.drop();
  });

  it('gives each due outbox row to exactly one of several hubs claiming at once', async () => {
    db = await createTestDatabase();
    const hubs = await Promise.all([0, 1, 2].map(() => openPostgresStore(db!.url, { max: 4 })));
    stores.push(...hubs);
    const ROWS = 60;
    await hubs[0]!.transaction(async (tx) => {
      for (let i = 0; i < ROWS; i++) {
        const event = await tx.events.append({ type: 'message.received', at: 1, taskId: null, recipients: ['a'], data: '{}' });
        await tx.outbox.enqueue(event.id, 'a', 'a@example.com', 1);
      }
    });
    const claimed = await Promise.all(
      hubs.flatMap((hub) =>
        [0, 1, 2, 3].map(async () => {
          const mine: number[] = [];
          for (let item = await hub.outbox.claimDue(10, 60_000); item; item = await hub.outbox.claimDue(10, 60_000)) {
            mine.push(item.id);
          }
          return mine;
        }),
      ),
    );
    const all = claimed.flat().sort((a, b) => a - b);
    expect(all).toHaveLength(ROWS);
    expect(new Set(all).size).toBe(ROWS);
    // Hidden until the claim's visibility timeout: nothing is due again before it.
    expect(await hubs[1]!.outbox.claimDue(59_999, 120_000)).toBeUndefined();
    expect((await hubs[2]!.outbox.claimDue(60_000, 120_000))?.attempts).toBe(2);
  });

  it('lets a batch of transitions and a racing single transition on another hub both finish, without a deadlock', async () => {
    db = await createTestDatabase();
    // Two hubs: within one store, transactions run one after another in the group commit and cannot interleave.
    const [store, other] = await Promise.all([0, 1].map(() => openPostgresStore(db!.url, { max: 4 })));
    stores.push(store!, other!);
    const task = (id: string) => ({
      id, kind: 'task' as const, task: 't', payload: null, capability: null, priority: 1, assigner: 'a', target: 'b',
      deadline: null, idempotencyKey: null, createdAt: 1,
    });
    await store!.tasks.insert(task('A'));
    await store!.tasks.insert(task('B'));
    const event = (taskId: string) => ({ type: 'task.expired', at: 2, taskId, recipients: ['a'], data: '{}' });
    let racerStarted!: () => void;
    const started = new Promise<void>((resolve) => (racerStarted = resolve));
    // The sweeper's shape: expire A and record it, then (once the racer is under way) expire B in the same transaction.
    const batch = store!.transaction(async (tx) => {
      await tx.tasks.transition('A', ['assigned'], 'expired', {}, 2);
      await tx.events.append(event('A'));
      await started;
      const b = await tx.tasks.transition('B', ['assigned'], 'expired', {}, 2);
      if (b) await tx.events.append(event('B'));
      return b?.status;
    });
    // An agent finishing B meanwhile on the other hub. Deliberately interleaved with the batch (which a hub would not
    // do) to build the lock order that deadlocks when a transaction may wait for the events lock while it holds a row.
    const racer = other!.transaction(async (tx) => {
      const pending = tx.tasks.transition('B', ['assigned'], 'completed', {}, 3);
      setTimeout(racerStarted, 150);
      const b = await pending;
      if (b) await tx.events.append(event('B'));
      return b?.status;
    });
    const outcomes = await Promise.allSettled([batch, racer]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    const statuses = outcomes.map((o) => (o as PromiseFulfilledResult<string | undefined>).value);
    // Exactly one of them changed B.
    expect(statuses.filter((x) => x !== undefined)).toHaveLength(1);
    expect((await store!.events.listAll(0, 10)).length).toBe(2);
  });

  it('answers unavailable (with a retry delay) while the database cannot be reached', async () => {
    const url = `postgres://taskhub@127.0.0.1:${await freePort()}/nowhere`;
    const store = await openPostgresStore(url, { migrate: false, connectionTimeoutMillis: 2000 });
    stores.push(store);
    const refused = await store.tasks.get('x').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HubError);
    expect((refused as HubError).code).toBe('unavailable');
    expect((refused as HubError).retryAfterSeconds).toBeGreaterThan(0);
    const inTx = await store.transaction(async (tx) => tx.tasks.get('x')).catch((error: unknown) => error);
    expect((inTx as HubError).code).toBe('unavailable');
  });

  it('turns a connection ended by the server mid-transaction into unavailable, rolls it back, and recovers', async () => {
    db = await createTestDatabase();
    const store = await openPostgresStore(db.url, { max: 2 });
    stores.push(store);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const failed = await store
        .transaction(async (tx) => {
          await tx.agents.insert({ name: 'ghost', capabilities: [], email: null, description: null, createdAt: 1 });
          // An administrator (or a failover) ends this session: SQLSTATE 57P01 on its next statement.
          await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`,
          );
          return tx.agents.get('ghost');
        })
        .catch((error: unknown) => error);
      expect((failed as HubError).code).toBe('unavailable');
      expect(await store.agents.get('ghost')).toBeUndefined();
      await store.agents.insert({ name: 'later', capabilities: ['x'], email: null, description: null, createdAt: 2 });
      expect((await store.agents.get('later'))?.capabilities).toEqual(['x']);
    } finally {
      await admin.end();
    }
  });
});
