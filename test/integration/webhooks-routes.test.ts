import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, as, call } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
afterEach(async () => {
  await hub.stop();
});

describe('webhook routes', () => {
  beforeEach(async () => {
    hub = await startTestHub({ TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true' });
  });

  it('sets, shows, replaces and removes an agent webhook, with a fresh secret at every PUT', async () => {
    const worker = await addAgent(hub, 'worker');
    const put = await worker.put('/api/agents/worker/webhook', { url: 'http://127.0.0.1:9/hook', events: ['task.assigned', 'message'] });
    expect(put.status).toBe(200);
    expect(put.body.webhook).toMatchObject({ url: 'http://127.0.0.1:9/hook', events: ['task.assigned', 'message'] });
    expect(put.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(put.body.secret.slice(6), 'base64')).toHaveLength(32);

    const got = await worker.get('/api/agents/worker/webhook');
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ webhook: put.body.webhook, deliveries: { queued: 0, sent: 0, failed: 0 }, failed: [] });
    expect(JSON.stringify(got.body)).not.toContain(put.body.secret);

    const again = await worker.put('/api/agents/worker/webhook', { url: 'https://example.com/other' });
    expect(again.body.webhook).toEqual({ url: 'https://example.com/other', events: null, createdAt: put.body.webhook.createdAt });
    expect(again.body.secret).not.toBe(put.body.secret);

    expect((await worker.delete('/api/agents/worker/webhook')).status).toBe(204);
    expect((await worker.get('/api/agents/worker/webhook')).status).toBe(404);
    expect((await worker.delete('/api/agents/worker/webhook')).status).toBe(404);
    expect((await worker.post('/api/agents/worker/webhook/retry')).status).toBe(404);
  });

  it('lets only the agent itself and admins near it: 403 for another agent, 404 for an unknown agent', async () => {
    const admin = as(hub, hub.adminToken);
    const worker = await addAgent(hub, 'worker');
    const other = await addAgent(hub, 'other');
    const body = { url: 'http://127.0.0.1:9/hook' };
    expect((await admin.put('/api/agents/worker/webhook', body)).status).toBe(200);
    for (const res of [
      await other.put('/api/agents/worker/webhook', body),
      await other.get('/api/agents/worker/webhook'),
      await other.delete('/api/agents/worker/webhook'),
      await other.post('/api/agents/worker/webhook/retry'),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect((await worker.get('/api/agents/worker/webhook')).status).toBe(200);
    expect((await admin.post('/api/agents/worker/webhook/retry')).body).toEqual({ requeued: 0 });
    expect((await admin.put('/api/agents/ghost/webhook', body)).status).toBe(404);
    expect((await admin.get('/api/agents/ghost/webhook')).status).toBe(404);
    expect((await call(hub, undefined, 'GET', '/api/agents/worker/webhook')).status).toBe(401);
  });

  it('refuses bad bodies with 400 validation_failed and changes nothing', async () => {
    const worker = await addAgent(hub, 'worker');
    for (const body of [
      {},
      { url: 'ftp://example.com/x' },
      { url: 'not a url' },
      { url: 'https://example.com', events: ['task.nope'] },
      { url: 'https://example.com', events: [] },
      { url: 'https://example.com', extra: 1 },
    ]) {
      const res = await worker.put('/api/agents/worker/webhook', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    expect((await worker.get('/api/agents/worker/webhook')).status).toBe(404);
    expect((await worker.post('/api/agents/worker/webhook/retry', { x: 1 })).status).toBe(400);
  });

  it('removes the webhook with its agent', async () => {
    const admin = as(hub, hub.adminToken);
    await addAgent(hub, 'worker');
    await admin.put('/api/agents/worker/webhook', { url: 'http://127.0.0.1:9/hook' });
    expect((await admin.delete('/api/agents/worker')).status).toBe(204);
    await addAgent(hub, 'worker');
    expect((await admin.get('/api/agents/worker/webhook')).status).toBe(404);
  });
});

describe('the SSRF guard at PUT (no TASKHUB_WEBHOOK_ALLOW_PRIVATE)', () => {
  beforeEach(async () => {
    hub = await startTestHub();
  });

  it('refuses loopback, private, link-local, CGNAT, multicast and unspecified hosts with 422 webhook_url_refused', async () => {
    const worker = await addAgent(hub, 'worker');
    for (const host of ['127.0.0.1', 'localhost', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254',
      '100.64.0.1', '224.0.0.1', '0.0.0.0', '[::1]', '[fd00::1]', '[fe80::1]', '[::ffff:127.0.0.1]']) {
      const res = await worker.put('/api/agents/worker/webhook', { url: `http://${host}:8080/hook` });
      expect(res.status, host).toBe(422);
      expect(res.body.error.code).toBe('webhook_url_refused');
    }
    expect((await worker.get('/api/agents/worker/webhook')).status).toBe(404);
  });

  it('accepts a public address', async () => {
    const worker = await addAgent(hub, 'worker');
    expect((await worker.put('/api/agents/worker/webhook', { url: 'https://93.184.215.14/hook' })).status).toBe(200);
  });
});
