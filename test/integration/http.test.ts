import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, as, call } from '../helpers/api.js';
import { startTestHub, testStore, type TestHub } from '../helpers/hub.js';
import { openStream } from '../helpers/stream.js';

let hub: TestHub;
beforeEach(async () => {
  hub = await startTestHub();
});
afterEach(async () => {
  await hub.stop();
});

describe('requests', () => {
  it('answers malformed JSON with 400 invalid_json', async () => {
    await addAgent(hub, 'worker');
    const res = await call(hub, hub.adminToken, 'POST', '/api/tasks', '{"target": "worker", "task": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'invalid_json', message: expect.any(String) } });
    expect((await call(hub, hub.adminToken, 'GET', '/api/tasks')).body.tasks).toEqual([]);
  });

  it('answers a body over 1 MiB with 413 payload_too_large and stores nothing', async () => {
    await addAgent(hub, 'worker');
    const body = JSON.stringify({ target: 'worker', task: 'big', payload: 'z'.repeat(1024 * 1024) });
    const res = await call(hub, hub.adminToken, 'POST', '/api/tasks', body);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect((await call(hub, hub.adminToken, 'GET', '/api/tasks')).body.tasks).toEqual([]);
    const fits = JSON.stringify({ target: 'worker', task: 'fits', payload: 'z'.repeat(1000 * 1000) });
    expect((await call(hub, hub.adminToken, 'POST', '/api/tasks', fits)).status).toBe(201);
  });

  it('reads a body sent without a JSON content type as JSON', async () => {
    await addAgent(hub, 'worker');
    const res = await call(hub, hub.adminToken, 'POST', '/api/tasks', '{"target":"worker","task":"curl -d"}', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(201);
  });

  it('answers unknown routes with 404 not_found as JSON', async () => {
    const res = await call(hub, hub.adminToken, 'GET', '/api/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect((await call(hub, undefined, 'GET', '/no-such-page')).status).toBe(404);
  });

  it('rejects unknown fields in agent bodies and invalid agent fields', async () => {
    const admin = as(hub, hub.adminToken);
    const cases: unknown[] = [
      { name: 'ok', role: 'admin' },
      { name: 'UPPER' },
      { name: '-dash-first' },
      { name: 'x'.repeat(65) },
      { name: 'ok', capabilities: 'one' },
      { name: 'ok', capabilities: ['Bad Cap'] },
      { name: 'ok', email: 'not-an-email' },
      { name: 'ok', description: 5 },
    ];
    for (const body of cases) {
      const res = await admin.post('/api/agents', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.length).toBeGreaterThan(0);
    }
    expect((await admin.get('/api/agents')).body.agents).toEqual([]);
  });
});

describe('operations', () => {
  it('answers /healthz without a token', async () => {
    const res = await call(hub, undefined, 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('serves Prometheus metrics: requests, open streams, tasks by status', async () => {
    const worker = await addAgent(hub, 'worker');
    const stream = openStream(hub.url, worker.token);
    await stream.waitFor((e) => e.length > 0);
    await call(hub, hub.adminToken, 'POST', '/api/tasks', { target: 'worker', task: 'x' });
    const res = await call(hub, undefined, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/^taskhub_http_requests_total\{method="POST",route="\/api\/tasks",status="201"\} 1$/m);
    expect(res.body).toMatch(/^taskhub_open_streams 1$/m);
    expect(res.body).toMatch(/^taskhub_tasks\{status="assigned"\} 1$/m);
    expect(res.body).toMatch(/^taskhub_tasks\{status="completed"\} 0$/m);
    stream.close();
  });

  it('gives admins /api/stats and refuses agents', async () => {
    const worker = await addAgent(hub, 'worker');
    const stream = openStream(hub.url, worker.token);
    await stream.waitFor((e) => e.length > 0);
    await call(hub, hub.adminToken, 'POST', '/api/tasks', { target: 'worker', task: 'x' });
    const res = await call(hub, hub.adminToken, 'GET', '/api/stats');
    expect(res.body).toEqual({
      tasks: { assigned: 1, claimed: 0, in_progress: 0, completed: 0, failed: 0, cancelled: 0, expired: 0 },
      agents: { total: 1, connected: 1 },
      rpc: { waiting: 0 },
      outbox: { queued: 0, sent: 0, failed: 0 },
      webhooks: { queued: 0, sent: 0, failed: 0 },
      events: { lastId: 1 },
      hub: { id: hub.config.hubId },
      hubs: { live: 1 },
    });
    expect((await worker.get('/api/stats')).status).toBe(403);
    stream.close();
  });

  it('serves the dashboard files at / without a token', async () => {
    const res = await fetch(`${hub.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/taskhub/);
  });
});

describe('durability of the core', () => {
  it('keeps agents, tasks and events across a restart, and event ids go on increasing', async () => {
    const boss = await addAgent(hub, 'boss');
    await addAgent(hub, 'worker');
    const task = (await boss.post('/api/tasks', { target: 'worker', task: 'survive' })).body.task;
    const dataDir = hub.dataDir;
    const adminToken = hub.adminToken;
    await hub.stop({ keepData: true });
    if (testStore() === 'sqlite') expect(fs.existsSync(path.join(dataDir, 'taskhub.db'))).toBe(true);

    hub = await startTestHub({}, dataDir);
    const bossAgain = as(hub, boss.token);
    expect((await bossAgain.get(`/api/tasks/${task.id}`)).body.task).toEqual(task);
    expect((await call(hub, adminToken, 'GET', '/api/agents')).body.agents).toHaveLength(2);
    const next = (await bossAgain.post('/api/tasks', { target: 'worker', task: 'after' })).body.task;
    const events = (await bossAgain.get(`/api/tasks/${next.id}/events`)).body.events;
    expect(events[0].id).toBe(2);
  });
});
