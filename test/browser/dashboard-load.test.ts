import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addAgent } from '../helpers/api.js';
import { launchBrowser, openDashboard, type DashboardPage } from '../helpers/browser.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

const TASKS = 10_000;
const BURST_TASKS = 1000;

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
  hub = await startTestHub();
});
afterEach(async () => {
  await dash?.close();
  dash = undefined;
  await hub.stop();
});

describe('dashboard under load', () => {
  it(`stays usable with ${TASKS.toLocaleString('en')} tasks and a burst of ${BURST_TASKS * 2} events`, async () => {
    await addAgent(hub, 'w');
    const admin = { name: 'admin', role: 'admin' } as const;
    const agent = { name: 'w', role: 'agent' } as const;
    // Queued at once, they share a few group commits.
    const created = await Promise.all(
      Array.from({ length: TASKS }, (_, i) => hub.hub.tasks.create(admin, { target: 'w', task: `bulk task ${i}` })),
    );
    const ids = created.map((c) => c.task.id);

    dash = await openDashboard(browser, hub);
    const { page } = dash;
    await page.locator('#task-tabs [data-filter="all"] .count').filter({ hasText: '10,000' }).waitFor();
    await page.locator('#tasks tbody tr').nth(49).waitFor();
    expect(await page.locator('#tasks tbody tr').count()).toBe(50);
    expect(await page.locator('#tasks tbody tr').first().textContent()).toContain(`bulk task ${TASKS - 1}`);
    // Open tasks per agent are counted up to a cap, and say so.
    await page.locator('#agents tr[data-agent="w"] td[data-open="2000"]').filter({ hasText: '2000+' }).waitFor();

    await page.getByRole('button', { name: 'Older →' }).click();
    await page.locator('#tasks tbody tr').first().filter({ hasText: `bulk task ${TASKS - 51}` }).waitFor();
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.locator('#tasks tbody tr').first().filter({ hasText: `bulk task ${TASKS - 1}` }).waitFor();

    // A busy hub: claims and completions as fast as the hub records them, yielding to I/O between batches.
    let pending: Promise<unknown>[] = [];
    for (let i = 0; i < BURST_TASKS; i++) {
      const id = ids[i]!;
      // Transactions run in the order they are asked for: the claim before the completion.
      pending.push(hub.hub.tasks.claim(agent, id), hub.hub.tasks.complete(agent, id, { n: i }));
      if (i % 100 === 99) {
        await Promise.all(pending);
        pending = [];
        await yieldToIo();
      }
    }
    await Promise.all(pending);
    const lastId = (await hub.hub.stats()).events.lastId;
    await page.locator(`#events li[data-id="${lastId}"]`).waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => document.querySelectorAll('#events li').length === 500);
    expect(await page.locator('#events li').first().getAttribute('data-id')).toBe(String(lastId));
    await page.locator('#task-tabs [data-filter="completed"] .count').filter({ hasText: '1,000' }).waitFor();

    // Still answering clicks: the completed tab shows a page of completed tasks.
    await page.locator('#task-tabs [data-filter="completed"]').click();
    await page.locator('#tasks tbody tr[data-status="completed"]').nth(49).waitFor();
    expect(await page.locator('#tasks tbody tr:not([data-status="completed"])').count()).toBe(0);
    expect(dash.errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  }, 180_000);
});
