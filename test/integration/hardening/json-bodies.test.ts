import { afterEach, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../../src/domain/json-limits.js';
import { addAgent, call } from '../../helpers/api.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

let hub: TestHub;
afterEach(async () => {
  await hub.stop();
});

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const taskWith = (payloadJson: string) => `{"target":"worker","task":"t","payload":${payloadJson}}`;

describe('request bodies (issue 15, items 3 and 6)', () => {
  it(`takes ${MAX_JSON_DEPTH} levels of nesting and refuses one more, and 4,500, with 400 validation_failed`, async () => {
    hub = await startTestHub();
    const worker = await addAgent(hub, 'worker');
    // The task body itself is one level: the payload gets the rest.
    expect((await call(hub, worker.token, 'POST', '/api/tasks', taskWith(nested(MAX_JSON_DEPTH - 1)))).status).toBe(201);
    for (const depth of [MAX_JSON_DEPTH, 4500]) {
      const res = await call(hub, worker.token, 'POST', '/api/tasks', taskWith(nested(depth)));
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'validation_failed', details: [{ path: 'body' }] });
    }
    // Brackets inside strings are text, not nesting.
    expect((await call(hub, worker.token, 'POST', '/api/tasks', taskWith(JSON.stringify(nested(5000))))).status).toBe(201);
  });

  it('refuses invalid UTF-8 with 400 invalid_json instead of storing replacement characters', async () => {
    hub = await startTestHub();
    const worker = await addAgent(hub, 'worker');
    const body = Buffer.concat([Buffer.from('{"target":"worker","task":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const res = await fetch(`${hub.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${worker.token}`, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    expect((await worker.get('/api/tasks')).body.tasks).toEqual([]);
    // Real UTF-8 still passes.
    expect((await worker.post('/api/tasks', { target: 'worker', task: 'café ✓ 🚀' })).body.task.task).toBe('café ✓ 🚀');
  });

  it('refuses a number that overflows a double the same way everywhere: payload, result and rpc timeout', async () => {
    hub = await startTestHub();
    const worker = await addAgent(hub, 'worker');
    for (const literal of ['1e400', '-1e400', `1${'0'.repeat(400)}`]) {
      const res = await call(hub, worker.token, 'POST', '/api/tasks', taskWith(`{"n":${literal}}`));
      expect(res.status, literal).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    const rpc = await call(hub, worker.token, 'POST', '/api/tasks/rpc', '{"target":"worker","task":"t","timeout":1e400}');
    expect(rpc.status).toBe(400);
    expect(rpc.body.error.code).toBe('validation_failed');
    const id = (await worker.post('/api/tasks', { target: 'worker', task: 't' })).body.task.id;
    const done = await call(hub, worker.token, 'POST', `/api/tasks/${id}/complete`, '{"result":[1e400]}');
    expect(done.status).toBe(400);
    // Large numbers that do fit, and tiny ones, are kept.
    const ok = await call(hub, worker.token, 'POST', `/api/tasks/${id}/complete`, '{"result":[1e300,-2.5e-300,12345678901234567890]}');
    expect(ok.body.task.result).toEqual([1e300, -2.5e-300, 12345678901234567890]);
  });

  it('takes the bearer scheme in any case', async () => {
    hub = await startTestHub();
    const worker = await addAgent(hub, 'worker');
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const res = await call(hub, undefined, 'GET', '/api/tasks', undefined, { authorization: `${scheme} ${worker.token}` });
      expect(res.status, scheme).toBe(200);
    }
  });

  it('keeps the /api prefix in the metrics route label of a request that failed in its route', async () => {
    hub = await startTestHub();
    const worker = await addAgent(hub, 'worker');
    expect((await worker.get('/api/tasks/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await worker.post('/api/tasks', { task: 1 })).status).toBe(400);
    const metrics = (await call(hub, undefined, 'GET', '/metrics')).body as string;
    expect(metrics).toContain('taskhub_http_requests_total{method="GET",route="/api/tasks/:id",status="404"} 1');
    expect(metrics).toContain('taskhub_http_requests_total{method="POST",route="/api/tasks",status="400"} 1');
    expect(metrics).not.toMatch(/route="\/tasks/);
  });
});
