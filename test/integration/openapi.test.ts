import SwaggerParser from '@apidevtools/swagger-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { mountedRoutes } from '../helpers/routes.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.stop();
  hub = undefined;
});

type Doc = { servers: Array<{ url: string }>; paths: Record<string, Record<string, any>>; components: any };
const documented = (doc: Doc) =>
  Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
    .sort();

describe('GET /openapi.json', () => {
  it('is served without a token and is a valid OpenAPI 3.1 document', async () => {
    hub = await startTestHub();
    const res = await call<Doc & { openapi: string }>(hub, undefined, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body.openapi).toBe('3.1.0');
    await SwaggerParser.validate(structuredClone(res.body) as never);
    expect(res.body.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    // Without TASKHUB_PUBLIC_URL the server is the address the request came to.
    expect(res.body.servers).toEqual([{ url: hub.url }]);
  });

  it('documents exactly the routes the app mounts', async () => {
    hub = await startTestHub();
    const doc = (await call<Doc>(hub, undefined, 'GET', '/openapi.json')).body;
    const mounted = mountedRoutes(hub.app);
    expect(mounted.filter((r) => r.includes(' /api/')).length).toBeGreaterThan(20);
    expect(documented(doc)).toEqual(mounted);
  });

  it('describes each route with the schemas that validate it', async () => {
    hub = await startTestHub({ TASKHUB_PUBLIC_URL: 'https://hub.example.com/' });
    const doc = (await call<Doc>(hub, undefined, 'GET', '/openapi.json')).body;
    expect(doc.servers).toEqual([{ url: 'https://hub.example.com' }]);
    const create = doc.paths['/api/tasks']!.post;
    const body = doc.components.schemas[create.requestBody.content['application/json'].schema.$ref.split('/').pop()];
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.priority.enum).toEqual(['low', 'normal', 'high', 'urgent']);
    expect(body.properties.task).toMatchObject({ minLength: 1, maxLength: 10_000 });
    expect(Object.keys(create.responses).sort()).toEqual(['200', '201', '400', '401', '413', '422', '429', '503']);
    const list = doc.paths['/api/tasks']!.get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    expect(list).toEqual(['query:role', 'query:status', 'query:agent', 'query:limit', 'query:cursor']);
    const claim = doc.paths['/api/tasks/{id}/claim']!.post;
    expect(claim.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
    expect(doc.paths['/healthz']!.get.security).toEqual([]);
    // An answer's schema names the wire objects; the task's statuses are the hub's own.
    expect(doc.components.schemas.Task.properties.status.enum).toContain('in_progress');
  });
});
