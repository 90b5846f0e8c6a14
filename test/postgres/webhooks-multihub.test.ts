import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { addAgent, as } from '../helpers/api.js';
import { killChildHubs, startChildHub } from '../helpers/child-hub.js';
import { makeDataDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

const SECRET = 'the secret every hub on this database shares';

describe('webhooks with several hubs on one PostgreSQL database', () => {
  let db: TestDatabase | undefined;
  let hubs: TestHub[] = [];
  let receiver: Receiver | undefined;
  const childDirs: string[] = [];
  afterEach(async () => {
    await killChildHubs();
    for (const dir of childDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    await Promise.all(hubs.map((h) => h.stop()));
    hubs = [];
    await receiver?.close();
    await db?.drop();
  });
  const env = (extra: Record<string, string> = {}) => ({
    TASKHUB_DATABASE_URL: db!.url,
    TASKHUB_JWT_SECRET: SECRET,
    TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true',
    TASKHUB_WEBHOOK_RETRY_BASE_MS: '50',
    ...extra,
  });

  it('makes each delivery once, whichever hub the events were written through', async () => {
    db = await createTestDatabase();
    receiver = await startReceiver();
    for (let i = 0; i < 3; i++) hubs.push(await startTestHub(env()));
    const [a, b, c] = hubs;
    const worker = await addAgent(a!, 'worker');
    const boss = await addAgent(a!, 'boss');
    expect((await worker.put('/api/agents/worker/webhook', { url: receiver.url })).status).toBe(200);
    const N = 60;
    await Promise.all(
      Array.from({ length: N }, (_, i) => as([a, b, c][i % 3]!, boss.token).post('/api/tasks', { target: 'worker', task: `t${i}` })),
    );
    await receiver.waitFor(N);
    // Every hub heard every event (the feed) and woke; none sent a row another had claimed.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ids = receiver.received.map((p) => p.headers['webhook-id']);
    expect(ids).toHaveLength(N);
    expect(new Set(ids).size).toBe(N);
    expect((await as(b!, b!.adminToken).get('/api/stats')).body.webhooks).toEqual({ queued: 0, sent: N, failed: 0 });
  });

  it('leaves a delivery of a hub killed mid-POST to another hub once its claim expires, with the same webhook-id', async () => {
    db = await createTestDatabase();
    receiver = await startReceiver(() => 'hang');
    const dataDir = makeDataDir();
    childDirs.push(dataDir);
    const dying = await startChildHub(dataDir, env({ TASKHUB_WEBHOOK_CLAIM_MS: '1500', TASKHUB_WEBHOOK_TIMEOUT_MS: '1000' }));
    const admin = as(dying, dying.adminToken());
    const worker = (await admin.post('/api/agents', { name: 'worker' })).body.token as string;
    await admin.post('/api/agents', { name: 'boss' });
    expect((await as(dying, worker).put('/api/agents/worker/webhook', { url: receiver.url })).status).toBe(200);
    await as(dying, admin.token).post('/api/tasks', { target: 'worker', task: 'once' });
    const [first] = await receiver.waitFor(1);
    await dying.kill('SIGKILL');

    receiver.behave(() => 200);
    hubs.push(await startTestHub(env({ TASKHUB_WEBHOOK_CLAIM_MS: '1500', TASKHUB_WEBHOOK_TIMEOUT_MS: '1000' })));
    const posts = await receiver.waitFor(2);
    expect(posts[1]!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    await expect.poll(async () => (await as(hubs[0]!, hubs[0]!.adminToken).get('/api/stats')).body.webhooks).toEqual({
      queued: 0, sent: 1, failed: 0,
    });
  });
});
