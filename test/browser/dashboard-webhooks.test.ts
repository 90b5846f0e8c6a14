import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addAgent } from '../helpers/api.js';
import { artifactPath, launchBrowser, openDashboard, type DashboardPage } from '../helpers/browser.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

let browser: Browser;
let hub: TestHub;
let dash: DashboardPage | undefined;

beforeAll(async () => {
  browser = await launchBrowser();
}, 90_000);
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  // A delivery fails for good after 300 ms of retries here, instead of 24 hours.
  hub = await startTestHub({ TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true', TASKHUB_WEBHOOK_RETRY_BASE_MS: '50', TASKHUB_WEBHOOK_MAX_AGE_MS: '300' });
});
afterEach(async () => {
  await dash?.close();
  dash = undefined;
  await hub.stop();
});

const XSS = 'http://127.0.0.1:9/<img src=x onerror=alert(1)>';

describe('dashboard: webhooks', () => {
  it("lists each agent's webhook with its URL, events and counts, and only agents that have one", async () => {
    const worker = await addAgent(hub, 'worker');
    const lister = await addAgent(hub, 'lister');
    await addAgent(hub, 'plain');
    expect((await worker.put('/api/agents/worker/webhook', { url: XSS })).status).toBe(200);
    expect((await lister.put('/api/agents/lister/webhook', { url: 'http://127.0.0.1:9/l', events: ['task.assigned', 'message'] })).status).toBe(200);

    dash = await openDashboard(browser, hub);
    const { page } = dash;
    const items = page.locator('#webhooks li[data-agent]');
    await items.nth(1).waitFor();
    expect(await items.evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.agent))).toEqual(['lister', 'worker']);

    const workerItem = page.locator('#webhooks li[data-agent="worker"]');
    // The URL is text: the markup in it is shown, never parsed.
    expect(await workerItem.locator('.webhook-url').textContent()).toBe(XSS);
    expect(await page.locator('#webhooks img').count()).toBe(0);
    expect(await workerItem.textContent()).toContain('all events');
    const lister_ = page.locator('#webhooks li[data-agent="lister"]');
    expect(await lister_.locator('.chip').allTextContents()).toEqual(['task.assigned', 'message']);
    for (const figure of ['queued', 'sent', 'failed']) {
      expect(await workerItem.locator(`[data-figure="${figure}"] strong`).textContent()).toBe('0');
    }
    expect(await workerItem.locator('[data-retry]').count()).toBe(0);
    expect(await page.locator('#stats [data-stat="webhooks"]').textContent()).toMatch(/webhooks queued/);
    await page.locator('#webhooks-panel').screenshot({ path: artifactPath('webhooks.png') });
    expect(dash.dialogs).toEqual([]);
    expect(dash.errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  }, 60_000);

  it('says so when no agent has a webhook', async () => {
    await addAgent(hub, 'plain');
    dash = await openDashboard(browser, hub);
    await dash.page.locator('#webhooks', { hasText: 'No agent has a webhook.' }).waitFor();
  }, 60_000);

  it('lists failed deliveries and sends them again from the button', async () => {
    const receiver = await startReceiver(() => 500);
    try {
      const worker = await addAgent(hub, 'worker');
      const boss = await addAgent(hub, 'boss');
      await worker.put('/api/agents/worker/webhook', { url: receiver.url });
      dash = await openDashboard(browser, hub);
      const { page } = dash;
      const item = page.locator('#webhooks li[data-agent="worker"]');
      await item.waitFor();

      await boss.post('/api/tasks', { target: 'worker', task: 'will fail' });
      // The figures move (queued, then failed) and the panel follows them at its next poll, without a reload.
      const row = item.locator('.failed-deliveries tbody tr');
      await row.waitFor({ timeout: 20_000 });
      const eventId = receiver.received[0]!.headers['webhook-id'];
      expect(await row.getAttribute('data-event')).toBe(eventId);
      expect(await row.textContent()).toContain('HTTP 500');
      expect(await item.locator('[data-figure="failed"] strong').textContent()).toBe('1');
      await page.locator('#webhooks-panel').screenshot({ path: artifactPath('webhooks-failed.png') });

      receiver.behave(() => 204);
      await item.locator('[data-retry="worker"]').click();
      await page.locator('[data-note="worker"]', { hasText: '1 queued again' }).waitFor();
      await item.locator('[data-figure="sent"] strong', { hasText: '1' }).waitFor({ timeout: 20_000 });
      expect(await item.locator('.failed-deliveries').count()).toBe(0);
      expect(receiver.received.at(-1)!.headers['webhook-id']).toBe(eventId);
      expect(dash.errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    } finally {
      await receiver.close();
    }
  }, 60_000);
});
