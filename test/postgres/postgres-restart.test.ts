import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { addAgentOn, eventIdsOf, on, startHubProcesses, type HubProcess } from '../helpers/hub-processes.js';
import { findPostgresBinDir, startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { openStream } from '../helpers/stream.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

// PostgreSQL itself goes down (a real fast shutdown of the server, not a cut connection) and comes back under a
// running hub process. A cluster of its own: the run's shared cluster serves every other test file meanwhile.
describe('PostgreSQL stopped and started again under a running hub', () => {
  let cluster: PostgresCluster | undefined;
  let stopHubs: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stopHubs?.();
    await cluster?.stop();
  });

  it('answers 503 unavailable meanwhile, keeps its streams open, recovers by itself, and half-writes nothing', async () => {
    cluster = await startPostgresCluster(findPostgresBinDir()!);
    await query(cluster.url, 'CREATE DATABASE hub');
    const url = new URL(cluster.url);
    url.pathname = '/hub';
    const databaseUrl = url.toString();
    const started = await startHubProcesses(databaseUrl, ['hub-a'], { TASKHUB_RATE_LIMIT: '0' });
    stopHubs = started.stop;
    const [hub] = started.hubs as [HubProcess];
    const boss = await addAgentOn(hub, 'boss');
    const worker = await addAgentOn(hub, 'worker');
    const stream = openStream(hub.url, worker.token);
    // A fresh stream delivers only the events after its `ready`: the writer starts once it is there, or its first
    // task could be committed before the stream counts from (a race this test lost once under a loaded machine).
    await stream.waitFor((events) => events.some((e) => e.type === 'ready')).catch((error: unknown) => {
      stream.close();
      throw error;
    });
    const answered: string[] = [];
    const statuses = new Set<number>();
    let writing = true;
    // A writer that never stops for the outage: each of its requests is either done (201) or refused (503).
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        const res = await on(hub, boss).post('/api/tasks', { target: 'worker', task: `w${n}` });
        statuses.add(res.status);
        if (res.status === 201) answered.push(res.body.task.id);
        else await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      await expect.poll(() => answered.length, { timeout: 10_000, interval: 10 }).toBeGreaterThan(20);

      await cluster.halt();
      const refused = await on(hub, boss).post('/api/tasks', { target: 'worker', task: 'during' });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('unavailable');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await fetch(`${hub.url}/healthz`)).status).toBe(503);
      // Down for a while: the hub's pool and its LISTEN connection fail and retry meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await fetch(`${hub.url}/healthz`)).status).toBe(503);
      const countDuring = answered.length;

      await cluster.resume();
      await expect.poll(async () => (await fetch(`${hub.url}/healthz`)).status, { timeout: 15_000, interval: 100 }).toBe(200);
      await expect.poll(() => answered.length, { timeout: 15_000, interval: 50 }).toBeGreaterThan(countDuring + 20);
      writing = false;
      await writer;
      expect([...statuses].sort()).toEqual([201, 503]);

      // The stream that stayed open through the outage gets every task, before and after, once and in order.
      const expected = await eventIdsOf(databaseUrl, 'worker');
      await stream.waitFor((events) => events.at(-1)?.lastEventId === String(expected.at(-1)), 15_000);
      expect(stream.events().map((e) => Number(e.lastEventId))).toEqual(expected);
      expect(stream.errors).toEqual([]);
      expect(stream.received.filter((e) => e.type === 'ready')).toHaveLength(1);
    } finally {
      writing = false;
      stream.close();
    }

    // Nothing half-written: every task answered 201 is there, and every task there has its one creation event.
    const tasks = await query<{ id: string }>(databaseUrl, 'SELECT id FROM tasks');
    expect(tasks.map((t) => t.id)).toEqual(expect.arrayContaining(answered));
    const unpaired = await query(
      databaseUrl,
      `SELECT t.id FROM tasks t
       LEFT JOIN events e ON e.task_id = t.id AND e.type = 'task.assigned'
       GROUP BY t.id HAVING count(e.id) <> 1`,
    );
    expect(unpaired).toEqual([]);
    const orphans = await query(
      databaseUrl,
      `SELECT e.id FROM events e LEFT JOIN tasks t ON t.id = e.task_id WHERE e.task_id IS NOT NULL AND t.id IS NULL`,
    );
    expect(orphans).toEqual([]);
  }, 60_000);
});
