import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { addAgent, as } from '../helpers/api.js';
import { startChildHub, type ChildHub } from '../helpers/child-hub.js';
import { makeDataDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';
import { openStream } from '../helpers/stream.js';

const SECRET = 'the secret every hub on this database shares';
// Short presence timings, so that a dead hub's streams stop counting within the test.
const PRESENCE = { TASKHUB_PRESENCE_HEARTBEAT_MS: '200', TASKHUB_PRESENCE_EXPIRY_MS: '1000' };

describe('presence and rate limits across hubs on one PostgreSQL database', () => {
  let db: TestDatabase | undefined;
  let hubs: TestHub[] = [];
  let children: ChildHub[] = [];
  const streams: Array<{ close(): void }> = [];
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    children = [];
    await Promise.all(hubs.map((h) => h.stop()));
    hubs = [];
    await db?.drop();
  });
  const env = (extra: Record<string, string> = {}) => ({
    TASKHUB_DATABASE_URL: db!.url,
    TASKHUB_JWT_SECRET: SECRET,
    ...PRESENCE,
    ...extra,
  });
  const startHubs = async (n: number, extra: Record<string, string> = {}) => {
    db = await createTestDatabase();
    for (let i = 0; i < n; i++) hubs.push(await startTestHub(env(extra)));
    return hubs;
  };
  const stream = (url: string, token: string) => {
    const s = openStream(url, token);
    streams.push(s);
    return s;
  };
  const ready = (s: ReturnType<typeof openStream>) => s.waitFor((events) => events.some((e) => e.type === 'ready'));

  it('shows an agent streaming on hub A as connected, with its streams, through hubs B and C; hubs.live counts', async () => {
    const [a, b, c] = await startHubs(3);
    const worker = await addAgent(a!, 'worker', { email: 'worker@example.com' });
    await ready(stream(a!.url, worker.token));
    await ready(stream(a!.url, worker.token));
    for (const hub of [b!, c!]) {
      const { body } = await as(hub, hub.adminToken).get('/api/agents/worker');
      expect(body.agent).toMatchObject({ connected: true, streams: 2 });
      const listed = await as(hub, hub.adminToken).get('/api/agents');
      expect(listed.body.agents.find((x: { name: string }) => x.name === 'worker')).toMatchObject({ streams: 2 });
      const stats = await as(hub, hub.adminToken).get('/api/stats');
      expect(stats.body.agents.connected).toBe(1);
      expect(stats.body.hubs).toEqual({ live: 3 });
    }
    // A clean stop removes the hub's rows at once.
    await hubs.pop()!.stop();
    expect((await as(a!, a!.adminToken).get('/api/stats')).body.hubs).toEqual({ live: 2 });
  });

  it('holds TASKHUB_MAX_STREAMS per agent across hubs, and frees the slot when a stream closes', async () => {
    const [a, b] = await startHubs(2, { TASKHUB_MAX_STREAMS: '2' });
    const worker = await addAgent(a!, 'worker');
    const first = stream(a!.url, worker.token);
    await ready(first);
    await ready(stream(b!.url, worker.token));
    for (const hub of [a!, b!]) {
      const refused = await fetch(`${hub.url}/api/events`, { headers: { authorization: `Bearer ${worker.token}` } });
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.code).toBe('too_many_streams');
    }
    first.close();
    await expect.poll(async () => (await as(b!, b!.adminToken).get('/api/agents/worker')).body.agent.streams).toBe(1);
    await ready(stream(b!.url, worker.token));
  });

  it('queues no mail for a task created on hub B for an agent streaming on hub A, and mails it once the agent is gone', async () => {
    const [a, b] = await startHubs(2);
    const worker = await addAgent(a!, 'worker', { email: 'worker@example.com' });
    const boss = await addAgent(a!, 'boss');
    const s = stream(a!.url, worker.token);
    await ready(s);
    expect((await as(b!, boss.token).post('/api/tasks', { target: 'worker', task: 'streamed' })).status).toBe(201);
    await s.waitFor((events) => events.some((e) => e.type === 'task.assigned'));
    const before = (await as(b!, b!.adminToken).get('/api/stats')).body.outbox;
    expect(before.queued + before.sent + before.failed).toBe(0);
    s.close();
    await expect.poll(async () => (await as(b!, b!.adminToken).get('/api/agents/worker')).body.agent.connected).toBe(false);
    expect((await as(b!, boss.token).post('/api/tasks', { target: 'worker', task: 'mailed' })).status).toBe(201);
    const outbox = (await as(b!, b!.adminToken).get('/api/stats')).body.outbox;
    expect(outbox.queued + outbox.sent + outbox.failed).toBe(1);
  });

  it('stops counting the streams of a hub killed with SIGKILL once its presence expires', async () => {
    const [b] = await startHubs(1);
    const worker = await addAgent(b!, 'worker');
    const child = await startChildHub(makeDataDir(), env({ TASKHUB_HUB_ID: 'doomed' }));
    children.push(child);
    await ready(stream(child.url, worker.token));
    await expect.poll(async () => (await as(b!, b!.adminToken).get('/api/agents/worker')).body.agent.streams).toBe(1);
    expect((await as(b!, b!.adminToken).get('/api/stats')).body.hubs).toEqual({ live: 2 });
    const killedAt = performance.now();
    await child.kill('SIGKILL');
    await expect
      .poll(async () => (await as(b!, b!.adminToken).get('/api/agents/worker')).body.agent, { timeout: 10_000, interval: 100 })
      .toMatchObject({ connected: false, streams: 0 });
    // Not before the expiry (1 s) could have passed since its last heartbeat (at most 200 ms before the kill).
    expect(performance.now() - killedAt).toBeGreaterThan(700);
    expect((await as(b!, b!.adminToken).get('/api/stats')).body.hubs).toEqual({ live: 1 });
    // Its rows are swept by the hubs that live on.
    const admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
    try {
      await expect
        .poll(async () => (await admin.query("SELECT count(*)::int AS n FROM hub_streams WHERE hub_id = 'doomed'")).rows[0].n)
        .toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('counts a sender’s creations across hubs: the limit holds for tasks created through two hubs at once', async () => {
    const [a, b] = await startHubs(2, { TASKHUB_RATE_LIMIT: '10' });
    await addAgent(a!, 'worker');
    const boss = await addAgent(a!, 'boss');
    const tries = Array.from({ length: 20 }, (_, i) =>
      as(i % 2 ? a! : b!, boss.token).post('/api/tasks', { target: 'worker', task: `t${i}` }),
    );
    const statuses = (await Promise.all(tries)).map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    const stats = (await as(a!, a!.adminToken).get('/api/stats')).body;
    expect(stats.tasks.assigned).toBe(10);
  });
});
