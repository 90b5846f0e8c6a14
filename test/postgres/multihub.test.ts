import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { addAgent, as, call } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';
import { openStream } from '../helpers/stream.js';

const SECRET = 'the secret every hub on this database shares';

// Three hub processes' worth of hubs on one database (each its own store, pool, feed and bus).
describe('several hubs on one PostgreSQL database', () => {
  let db: TestDatabase | undefined;
  let hubs: TestHub[] = [];
  afterEach(async () => {
    await Promise.all(hubs.map((h) => h.stop()));
    hubs = [];
    await db?.drop();
  });
  const startHubs = async (n: number) => {
    db = await createTestDatabase();
    for (let i = 0; i < n; i++) {
      // The first migrates; the others start on the migrated database.
      hubs.push(await startTestHub({ TASKHUB_DATABASE_URL: db.url, TASKHUB_JWT_SECRET: SECRET, TASKHUB_RPC_POLL_MS: '600000' }));
    }
    return hubs;
  };

  it('streams to an agent on hub A the tasks created on hubs B and C, in id order', async () => {
    const [a, b, c] = await startHubs(3);
    const worker = await addAgent(a!, 'worker');
    const boss = await addAgent(a!, 'boss');
    const stream = openStream(a!.url, worker.token);
    try {
      await stream.waitFor((events) => events.some((e) => e.type === 'ready'));
      for (const [i, hub] of [b!, c!, b!, c!].entries()) {
        expect((await as(hub, boss.token).post('/api/tasks', { target: 'worker', task: `t${i}` })).status).toBe(201);
      }
      await stream.waitFor((events) => events.filter((e) => e.type === 'task.assigned').length === 4);
      const assigned = stream.events().filter((e) => e.type === 'task.assigned');
      expect(assigned.map((e) => e.data.task.task)).toEqual(['t0', 't1', 't2', 't3']);
      const ids = assigned.map((e) => Number(e.lastEventId));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    } finally {
      stream.close();
    }
  });

  it('answers an rpc waiting on hub B as soon as the agent completes the task through hub C', async () => {
    const [, b, c] = await startHubs(3);
    const worker = await addAgent(b!, 'worker');
    const boss = await addAgent(b!, 'boss');
    // rpc polling is set to 10 minutes: only the cross-hub event can answer it within the test's time.
    const rpc = call(b!, boss.token, 'POST', '/api/tasks/rpc', { target: 'worker', task: 'add', payload: { a: 1 }, timeout: 30 });
    const onC = as(c!, worker.token);
    let pending: { id: string }[] = [];
    await expect.poll(async () => (pending = (await onC.get('/api/tasks/pending')).body.tasks ?? []).length, { timeout: 10_000 }).toBe(1);
    const started = performance.now();
    expect((await onC.post(`/api/tasks/${pending[0]!.id}/complete`, { result: { sum: 1 } })).status).toBe(200);
    const answer = await rpc;
    expect(answer.status).toBe(200);
    expect(answer.body.result).toEqual({ sum: 1 });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('catches up after its LISTEN connection is cut: events written meanwhile still arrive, once, in order', async () => {
    const [a, b] = await startHubs(2);
    const worker = await addAgent(a!, 'worker');
    const boss = await addAgent(a!, 'boss');
    const stream = openStream(a!.url, worker.token);
    const admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    try {
      await stream.waitFor((events) => events.some((e) => e.type === 'ready'));
      // Ends every hub's feed connection (as a failover or a network cut would), then writes while they are down.
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'taskhub-feed' AND datname = current_database()",
      );
      for (let i = 0; i < 3; i++) {
        expect((await as(b!, boss.token).post('/api/tasks', { target: 'worker', task: `t${i}` })).status).toBe(201);
      }
      await stream.waitFor((events) => events.filter((e) => e.type === 'task.assigned').length >= 3);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(stream.events().filter((e) => e.type === 'task.assigned').map((e) => e.data.task.task)).toEqual(['t0', 't1', 't2']);
    } finally {
      stream.close();
      await admin.end();
    }
  });

  it('refuses a rotated or removed agent’s token on every hub: at once where it changed, within moments elsewhere', async () => {
    const [a, b] = await startHubs(2);
    const worker = await addAgent(a!, 'worker');
    const admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    const status = async (hub: TestHub, token: string) => (await as(hub, token).get('/api/agents/worker')).status;
    // Soon after a change on another hub: its notification has to reach this hub's copy of the versions.
    const soon = { timeout: 3000, interval: 20 };
    try {
      // Twice each, so that both hubs hold the version in their copies.
      for (const hub of [a!, b!, a!, b!]) expect(await status(hub, worker.token)).toBe(200);

      const rotated = await call(b!, b!.adminToken, 'POST', '/api/agents/worker/token');
      expect(rotated.status).toBe(200);
      expect(await status(b!, worker.token)).toBe(401);
      await expect.poll(() => status(a!, worker.token), soon).toBe(401);
      for (const hub of [a!, b!, a!]) expect(await status(hub, rotated.body.token)).toBe(200);

      // Rotated on hub A itself: refused there at once, although A held the version a moment ago.
      const again = await call(a!, a!.adminToken, 'POST', '/api/agents/worker/token');
      expect(await status(a!, rotated.body.token)).toBe(401);
      await expect.poll(() => status(b!, rotated.body.token), soon).toBe(401);

      // A notification lost with the feed connection cannot leave an old version behind: the copy is emptied.
      for (const hub of [a!, b!]) expect(await status(hub, again.body.token)).toBe(200);
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'taskhub-feed' AND datname = current_database()",
      );
      const third = await call(b!, b!.adminToken, 'POST', '/api/agents/worker/token');
      await expect.poll(() => status(a!, again.body.token), soon).toBe(401);
      expect(await status(a!, third.body.token)).toBe(200);

      expect((await call(b!, b!.adminToken, 'DELETE', '/api/agents/worker')).status).toBe(204);
      await expect.poll(() => status(a!, third.body.token), soon).toBe(401);
    } finally {
      await admin.end();
    }
  });
});
