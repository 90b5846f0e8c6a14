import fs from 'node:fs';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, call } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
let secret: string;
beforeEach(async () => {
  hub = await startTestHub();
  secret = fs.readFileSync(path.join(hub.dataDir, 'jwt.secret'), 'utf8').trim();
});
afterEach(async () => {
  await hub.stop();
});

const unsigned = (payload: object) =>
  `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(
    JSON.stringify(payload),
  ).toString('base64url')}.`;

describe('bearer tokens', () => {
  it('refuses every bad token with 401 unauthorized and changes nothing', async () => {
    await addAgent(hub, 'worker');
    const bad: [string, Record<string, string>][] = [
      ['no header', {}],
      ['not bearer', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ['empty bearer', { authorization: 'Bearer ' }],
      ['garbage', { authorization: 'Bearer not.a.token' }],
      ['forged', { authorization: `Bearer ${jwt.sign({ sub: 'admin', role: 'admin' }, 'some-other-secret-123')}` }],
      [
        'expired',
        { authorization: `Bearer ${jwt.sign({ sub: 'admin', role: 'admin', exp: Math.floor(Date.now() / 1000) - 10 }, secret)}` },
      ],
      ['alg none', { authorization: `Bearer ${unsigned({ sub: 'admin', role: 'admin' })}` }],
      ['HS512', { authorization: `Bearer ${jwt.sign({ sub: 'admin', role: 'admin' }, secret, { algorithm: 'HS512' })}` }],
      ['no role', { authorization: `Bearer ${jwt.sign({ sub: 'admin' }, secret)}` }],
      ['odd role', { authorization: `Bearer ${jwt.sign({ sub: 'x', role: 'root' }, secret)}` }],
      ['agent without ver', { authorization: `Bearer ${jwt.sign({ sub: 'worker', role: 'agent' }, secret)}` }],
      ['wrong ver', { authorization: `Bearer ${jwt.sign({ sub: 'worker', role: 'agent', ver: 2 }, secret)}` }],
      ['unknown agent', { authorization: `Bearer ${jwt.sign({ sub: 'ghost', role: 'agent', ver: 1 }, secret)}` }],
    ];
    for (const [label, headers] of bad) {
      const res = await call(hub, undefined, 'POST', '/api/agents', { name: `made-by-${label.replace(/ /g, '-')}` }, headers);
      expect(res.status, label).toBe(401);
      expect(res.body.error.code, label).toBe('unauthorized');
      expect(res.headers.get('www-authenticate'), label).toBe('Bearer');
    }
    const expired = await call(hub, undefined, 'GET', '/api/agents', undefined, bad[5]![1]);
    expect(expired.body.error.message).toMatch(/expired/);
    const agents = await call(hub, hub.adminToken, 'GET', '/api/agents');
    expect(agents.body.agents.map((a: any) => a.name)).toEqual(['worker']);
  });

  it('accepts an admin token minted by anyone holding the secret, and a signed agent token', async () => {
    const ops = jwt.sign({ sub: 'ops-team', role: 'admin' }, secret);
    expect((await call(hub, ops, 'GET', '/api/stats')).status).toBe(200);
    await addAgent(hub, 'worker');
    const agentToken = jwt.sign({ sub: 'worker', role: 'agent', ver: 1 }, secret);
    expect((await call(hub, agentToken, 'GET', '/api/tasks/pending')).status).toBe(200);
  });

  it('writes the first admin token to admin.token with mode 0600', async () => {
    const file = path.join(hub.dataDir, 'admin.token');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(hub.dataDir, 'jwt.secret')).mode & 0o777).toBe(0o600);
    const token = fs.readFileSync(file, 'utf8').trim();
    expect((await call(hub, token, 'GET', '/api/stats')).status).toBe(200);
  });
});

describe('the configured secret', () => {
  it('uses TASKHUB_JWT_SECRET and keeps tokens valid across a restart on the same data dir', async () => {
    await hub.stop();
    hub = await startTestHub({ TASKHUB_JWT_SECRET: 'a-configured-secret-of-enough-length' });
    const worker = await addAgent(hub, 'worker');
    const token = jwt.sign({ sub: 'root', role: 'admin' }, 'a-configured-secret-of-enough-length');
    expect((await call(hub, token, 'GET', '/api/agents')).status).toBe(200);
    const dataDir = hub.dataDir;
    await hub.stop({ keepData: true });
    hub = await startTestHub({ TASKHUB_JWT_SECRET: 'a-configured-secret-of-enough-length' }, dataDir);
    const res = await call(hub, worker.token, 'GET', '/api/agents/worker');
    expect(res.status).toBe(200);
  });
});
