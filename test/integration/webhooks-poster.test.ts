import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkWebhookUrl } from '../../src/hub/webhooks/url-check.js';
import { createWebhookPoster, RESPONSE_BODY_CAP_BYTES, type WebhookPoster } from '../../src/transport/webhook/post.js';

/** A real receiver whose handler the test writes; counts what reaches it. */
async function receiver(handler: http.RequestListener) {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

// No DNS here: injected resolvers play a name that is public when the webhook is set and loopback later.
const resolvesTo = (address: string): LookupFunction => (_host, _options, callback) =>
  callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]);

const posters: WebhookPoster[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const p of posters.splice(0)) p.close();
  for (const close of closers.splice(0)) await close();
});
const poster = (options: Parameters<typeof createWebhookPoster>[0]) => {
  const p = createWebhookPoster(options);
  posters.push(p);
  return p;
};
const post = (p: WebhookPoster, url: string) => p.post(new URL(url), { 'content-type': 'application/json' }, '{"id":1}');

describe('webhook POSTs and the SSRF guard at connect time', () => {
  it('refuses a name that resolved to a public address at PUT and resolves to loopback at send', async () => {
    const r = await receiver((_req, res) => res.end());
    closers.push(r.close);
    const url = `http://rebind.example:${r.port}/hook`;
    await expect(checkWebhookUrl(url, resolvesTo('93.184.215.14'))).resolves.toBeUndefined();
    await expect(checkWebhookUrl(url, resolvesTo('127.0.0.1'))).rejects.toMatchObject({ code: 'webhook_url_refused' });
    const outcome = await post(poster({ lookup: resolvesTo('127.0.0.1') }), url);
    expect(outcome).toMatchObject({ kind: 'retry', reason: expect.stringMatching(/refused address 127\.0\.0\.1/) });
    expect(r.hits()).toBe(0);
  });

  it('refuses a loopback IP literal, which no lookup sees, and lets it through with allowPrivate', async () => {
    const r = await receiver((_req, res) => res.end());
    closers.push(r.close);
    const url = `http://127.0.0.1:${r.port}/hook`;
    expect(await post(poster({}), url)).toMatchObject({ kind: 'retry', reason: expect.stringMatching(/refused/) });
    expect(r.hits()).toBe(0);
    expect(await post(poster({ allowPrivate: true }), url)).toEqual({ kind: 'sent', status: 200 });
    expect(r.hits()).toBe(1);
  });

  it('follows no redirect, and tells 410 from other statuses', async () => {
    let answer = 302;
    const r = await receiver((_req, res) => {
      res.writeHead(answer, { location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
    });
    closers.push(r.close);
    const p = poster({ allowPrivate: true });
    const url = `http://127.0.0.1:${r.port}/hook`;
    expect(await post(p, url)).toEqual({ kind: 'retry', reason: 'HTTP 302' });
    answer = 410;
    expect(await post(p, url)).toEqual({ kind: 'gone', status: 410 });
    answer = 500;
    expect(await post(p, url)).toEqual({ kind: 'retry', reason: 'HTTP 500' });
    expect(r.hits()).toBe(3);
  });

  it('reads no more of an endless answer than the cap, and times out a silent receiver', async () => {
    let written = 0;
    const r = await receiver((req, res) => {
      if (req.url === '/silent') return;
      res.writeHead(200);
      const chunk = Buffer.alloc(4096, 'x');
      const pump = () => {
        while (written < 100 * RESPONSE_BODY_CAP_BYTES && res.write(chunk)) written += chunk.length;
        if (written < 100 * RESPONSE_BODY_CAP_BYTES) res.once('drain', pump);
      };
      pump();
      res.on('close', () => res.removeAllListeners('drain'));
    });
    closers.push(r.close);
    const p = poster({ allowPrivate: true, timeoutMs: 200 });
    expect(await post(p, `http://127.0.0.1:${r.port}/endless`)).toEqual({ kind: 'sent', status: 200 });
    const started = Date.now();
    expect(await post(p, `http://127.0.0.1:${r.port}/silent`)).toMatchObject({ kind: 'retry', reason: expect.stringMatching(/no answer within 200 ms/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('answers retry for a refused connection', async () => {
    const r = await receiver((_req, res) => res.end());
    const port = r.port;
    await r.close();
    expect(await post(poster({ allowPrivate: true }), `http://127.0.0.1:${port}/hook`)).toMatchObject({
      kind: 'retry',
      reason: expect.stringMatching(/ECONNREFUSED/),
    });
  });
});
