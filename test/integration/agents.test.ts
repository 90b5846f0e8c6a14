import jwt from 'jsonwebtoken';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, as, call } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { openStream } from '../helpers/stream.js';

let hub: TestHub;
beforeEach(async () => {
  hub = await startTestHub();
});
afterEach(async () => {
  await hub.stop();
});

describe('agents', () => {
  it('creates an agent and answers with its token, which then authenticates', async () => {
    const admin = as(hub, hub.adminToken);
    const res = await admin.post('/api/agents', {
      name: 'writer',
      capabilities: ['summarize', 'translate'],
      email: 'writer@example.com',
      description: 'writes things',
    });
    expect(res.status).toBe(201);
    expect(res.body.agent).toMatchObject({
      name: 'writer',
      capabilities: ['summarize', 'translate'],
      email: 'writer@example.com',
      description: 'writes things',
      connected: false,
      streams: 0,
      lastSeen: null,
    });
    expect(Date.parse(res.body.agent.createdAt)).not.toBeNaN();
    const self = await as(hub, res.body.token).get('/api/agents/writer');
    expect(self.status).toBe(200);
    expect(self.body.agent.email).toBe('writer@example.com');
  });

  it('refuses a taken name with 409 conflict', async () => {
    await addAgent(hub, 'dup');
    const res = await call(hub, hub.adminToken, 'POST', '/api/agents', { name: 'dup' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
  });

  it('lists agents, filtered by capability, hiding emails from other agents', async () => {
    const a = await addAgent(hub, 'a', { capabilities: ['x'], email: 'a@example.com' });
    await addAgent(hub, 'b', { capabilities: ['y'], email: 'b@example.com' });
    const all = await a.get('/api/agents');
    expect(all.body.agents.map((x: any) => x.name)).toEqual(['a', 'b']);
    expect(all.body.agents[0].email).toBe('a@example.com');
    expect(all.body.agents[1]).not.toHaveProperty('email');
    const withY = await a.get('/api/agents?capability=y');
    expect(withY.body.agents.map((x: any) => x.name)).toEqual(['b']);
    const admin = await as(hub, hub.adminToken).get('/api/agents');
    expect(admin.body.agents[1].email).toBe('b@example.com');
  });

  it('lets an agent patch itself but not another, and an admin patch anyone', async () => {
    const a = await addAgent(hub, 'a');
    await addAgent(hub, 'b');
    const own = await a.patch('/api/agents/a', { capabilities: ['new'], description: 'd' });
    expect(own.status).toBe(200);
    expect(own.body.agent).toMatchObject({ capabilities: ['new'], description: 'd' });
    const other = await a.patch('/api/agents/b', { description: 'hijack' });
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('forbidden');
    expect((await a.get('/api/agents/b')).body.agent.description).toBeNull();
    const byAdmin = await as(hub, hub.adminToken).patch('/api/agents/b', { email: 'b@example.com' });
    expect(byAdmin.body.agent.email).toBe('b@example.com');
    expect((await a.get('/api/agents?capability=new')).body.agents.map((x: any) => x.name)).toEqual(['a']);
  });

  it('answers 404 for an unknown agent', async () => {
    const res = await call(hub, hub.adminToken, 'GET', '/api/agents/nobody');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('keeps agent routes for admins: an agent cannot create, delete or rotate', async () => {
    const a = await addAgent(hub, 'a');
    expect((await a.post('/api/agents', { name: 'c' })).status).toBe(403);
    expect((await a.delete('/api/agents/a')).status).toBe(403);
    expect((await a.post('/api/agents/a/token')).status).toBe(403);
    expect((await call(hub, hub.adminToken, 'GET', '/api/agents/c')).status).toBe(404);
  });

  it('rotating a token revokes the older one and ends its streams', async () => {
    const a = await addAgent(hub, 'a');
    const stream = openStream(hub.url, a.token);
    await stream.waitFor((e) => e.some((x) => x.type === 'ready'));
    const res = await call(hub, hub.adminToken, 'POST', '/api/agents/a/token');
    expect(res.status).toBe(200);
    const old = await a.get('/api/agents/a');
    expect(old.status).toBe(401);
    expect(old.body.error.code).toBe('unauthorized');
    expect((await as(hub, res.body.token).get('/api/agents/a')).status).toBe(200);
    await stream.waitFor(() => stream.errors.length > 0);
    stream.close();
  });

  it('removing an agent fails its open tasks with agent_removed, ends its streams and its tokens', async () => {
    const boss = await addAgent(hub, 'boss');
    const doomed = await addAgent(hub, 'doomed');
    const stream = openStream(hub.url, doomed.token);
    await stream.waitFor((e) => e.some((x) => x.type === 'ready'));
    const open = await boss.post('/api/tasks', { target: 'doomed', task: 'open one' });
    await doomed.post(`/api/tasks/${open.body.task.id}/claim`);
    const done = await boss.post('/api/tasks', { target: 'doomed', task: 'finished one' });
    await doomed.post(`/api/tasks/${done.body.task.id}/complete`, { result: 1 });

    const res = await call(hub, hub.adminToken, 'DELETE', '/api/agents/doomed');
    expect(res.status).toBe(204);
    const failed = await boss.get(`/api/tasks/${open.body.task.id}`);
    expect(failed.body.task).toMatchObject({ status: 'failed', error: 'agent_removed', leaseExpiresAt: null });
    expect((await boss.get(`/api/tasks/${done.body.task.id}`)).body.task.status).toBe('completed');
    expect((await doomed.get('/api/tasks/pending')).status).toBe(401);
    await stream.waitFor(() => stream.errors.length > 0);
    stream.close();
    expect((await call(hub, hub.adminToken, 'DELETE', '/api/agents/doomed')).status).toBe(404);
  });

  it('a removed and re-created name does not accept tokens of its earlier life', async () => {
    const first = await addAgent(hub, 'phoenix');
    await call(hub, hub.adminToken, 'DELETE', '/api/agents/phoenix');
    const second = await addAgent(hub, 'phoenix');
    expect((await first.get('/api/agents')).status).toBe(401);
    expect((await second.get('/api/agents')).status).toBe(200);
  });

  it('shows connected and streams while an agent holds streams', async () => {
    const a = await addAgent(hub, 'a');
    const s1 = openStream(hub.url, a.token);
    const s2 = openStream(hub.url, a.token);
    await Promise.all([s1, s2].map((s) => s.waitFor((e) => e.some((x) => x.type === 'ready'))));
    expect((await a.get('/api/agents/a')).body.agent).toMatchObject({ connected: true, streams: 2 });
    s1.close();
    s2.close();
    await expect.poll(async () => (await a.get('/api/agents/a')).body.agent.streams).toBe(0);
    expect((await a.get('/api/agents/a')).body.agent.connected).toBe(false);
    expect((await a.get('/api/agents/a')).body.agent.lastSeen).not.toBeNull();
  });

  it('signs agent tokens with HS256 and the agent version', async () => {
    const res = await call(hub, hub.adminToken, 'POST', '/api/agents', { name: 'v' });
    const decoded = jwt.decode(res.body.token, { complete: true }) as jwt.Jwt;
    expect(decoded.header.alg).toBe('HS256');
    expect(decoded.payload).toMatchObject({ sub: 'v', role: 'agent', ver: 1 });
  });
});
