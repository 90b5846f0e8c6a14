import { afterEach, describe, expect, it } from 'vitest';
import { addAgent } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';
import { openStream } from '../helpers/stream.js';

// A hub on PostgreSQL whose database goes away and comes back: a TCP proxy between them drops every connection
// and refuses new ones, as a stopped server or a broken network would.
describe('a hub on PostgreSQL while the database is unreachable', () => {
  let db: TestDatabase | undefined;
  let proxy: Proxy | undefined;
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('answers 503 unavailable with Retry-After (and /healthz 503), keeps open streams open, and recovers by itself', async () => {
    db = await createTestDatabase();
    const direct = new URL(db.url);
    proxy = await startProxy(`http://${direct.hostname}:${direct.port}`);
    const viaProxy = new URL(db.url);
    viaProxy.port = new URL(proxy.url).port;
    hub = await startTestHub({
      TASKHUB_DATABASE_URL: viaProxy.toString(),
      TASKHUB_JWT_SECRET: 'the secret every hub on this database shares',
    });
    const boss = await addAgent(hub, 'boss');
    const worker = await addAgent(hub, 'worker');
    const stream = openStream(hub.url, worker.token);
    try {
      await stream.waitFor((events) => events.some((e) => e.type === 'ready'));
      expect((await boss.post('/api/tasks', { target: 'worker', task: 'before' })).status).toBe(201);

      proxy.refuse(true);
      proxy.cut();
      const refused = await boss.post('/api/tasks', { target: 'worker', task: 'during' });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('unavailable');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await fetch(`${hub.url}/healthz`)).status).toBe(503);

      proxy.refuse(false);
      await expect.poll(async () => (await boss.post('/api/tasks', { target: 'worker', task: 'after' })).status, {
        timeout: 10_000,
        interval: 100,
      }).toBe(201);
      expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
      await stream.waitFor((events) => events.some((e) => e.type === 'task.assigned' && e.data.task.task === 'after'));
      // The stream that was open through the outage got both tasks that were created, and nothing half-written.
      const tasks = stream.events().filter((e) => e.type === 'task.assigned').map((e) => e.data.task.task);
      expect(tasks).toEqual(['before', 'after']);
      // One connection all along: the stream never dropped and reconnected.
      expect(stream.errors).toEqual([]);
      expect(stream.received.filter((e) => e.type === 'ready')).toHaveLength(1);
    } finally {
      stream.close();
    }
  });
});
