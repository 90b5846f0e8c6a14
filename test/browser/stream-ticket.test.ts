import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addAgent } from '../helpers/api.js';
import { launchBrowser } from '../helpers/browser.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

// A page of another origin that opens the hub's stream with the browser's own EventSource, which cannot send an
// Authorization header: it buys a one-time ticket with fetch (CORS) and opens `?ticket=`.
const PAGE = `<!doctype html><meta charset="utf-8"><title>ticket</title><script>
window.received = [];
window.ticket = async (hub, token) => {
  const res = await fetch(hub + '/api/events/ticket', { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
  if (!res.ok) throw new Error('ticket: ' + res.status);
  return (await res.json()).ticket;
};
window.openStream = (hub, ticket, lastEventId) => new Promise((resolve) => {
  const url = hub + '/api/events?ticket=' + encodeURIComponent(ticket) + (lastEventId ? '&lastEventId=' + lastEventId : '');
  const source = new EventSource(url);
  window.source = source;
  source.addEventListener('ready', () => resolve('ready'));
  source.addEventListener('task.assigned', (e) => window.received.push({ id: Number(e.lastEventId), task: JSON.parse(e.data).task.task }));
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) resolve('closed'); };
});
</script>`;

let browser: Browser;
let site: http.Server;
let siteUrl: string;
let hub: TestHub | undefined;

beforeAll(async () => {
  browser = await launchBrowser();
  site = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => site.close(resolve));
});
afterEach(async () => {
  await hub?.stop();
  hub = undefined;
});

async function pageAt(url: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(url);
  return page;
}

describe('a browser page of another origin', () => {
  it('opens the stream with a one-time ticket, resumes with a new one, and cannot reuse one', async () => {
    hub = await startTestHub({ TASKHUB_CORS_ORIGINS: siteUrl });
    const agent = await addAgent(hub, 'browser-agent');
    const boss = await addAgent(hub, 'boss');
    const page = await pageAt(siteUrl);
    try {
      const first = await page.evaluate(([h, t]) => (window as any).ticket(h, t), [hub.url, agent.token]);
      expect(await page.evaluate(([h, t]) => (window as any).openStream(h, t), [hub.url, first])).toBe('ready');
      expect((await boss.post('/api/tasks', { target: agent.name, task: 'one' })).status).toBe(201);
      await page.waitForFunction(() => (window as any).received.length === 1);

      // Closed, a task arrives meanwhile; a new ticket and the last id seen resume without a gap.
      const lastId = await page.evaluate(() => {
        (window as any).source.close();
        return (window as any).received[0].id as number;
      });
      expect((await boss.post('/api/tasks', { target: agent.name, task: 'two' })).status).toBe(201);
      const second = await page.evaluate(([h, t]) => (window as any).ticket(h, t), [hub.url, agent.token]);
      await page.evaluate(([h, t, id]) => (window as any).openStream(h, t, id), [hub.url, second, String(lastId)]);
      await page.waitForFunction(() => (window as any).received.length === 2);
      expect(await page.evaluate(() => (window as any).received.map((r: { task: string }) => r.task))).toEqual(['one', 'two']);

      // A used ticket is refused (401), and EventSource gives up rather than retrying forever.
      await page.evaluate(() => (window as any).source.close());
      expect(await page.evaluate(([h, t]) => (window as any).openStream(h, t), [hub.url, first])).toBe('closed');
    } finally {
      await page.context().close();
    }
  });

  it('is refused by CORS when its origin is not listed, and CORS is off by default', async () => {
    hub = await startTestHub({ TASKHUB_CORS_ORIGINS: 'https://elsewhere.example' });
    const agent = await addAgent(hub, 'browser-agent');
    const page = await pageAt(siteUrl);
    try {
      const outcome = (h: string, t: string) =>
        page.evaluate(([hh, tt]) => (window as any).ticket(hh, tt).then(() => 'ok', (e: Error) => e.name), [h, t]);
      expect(await outcome(hub.url, agent.token)).toBe('TypeError');
      await hub.stop();
      hub = await startTestHub();
      const other = await addAgent(hub, 'browser-agent');
      expect(await outcome(hub.url, other.token)).toBe('TypeError');
    } finally {
      await page.context().close();
    }
  });
});
