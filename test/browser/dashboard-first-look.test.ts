import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, call } from '../helpers/api.js';
import { artifactPath, launchBrowser, openDashboard, type DashboardPage } from '../helpers/browser.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { sendMail } from '../helpers/smtp.js';

/** What a person sees first: the sign-in page, the events before they came, and a busy hub's page at a glance. */
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

describe('dashboard, first look', () => {
  it('shows the sign-in page with a calm "hub up" pill while the hub answers', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      await page.goto(hub.url);
      const pill = page.locator('#conn');
      await pill.filter({ hasText: 'hub up · signed out' }).waitFor();
      expect(await pill.getAttribute('class')).toBe('conn conn-up');
      await page.screenshot({ path: artifactPath('sign-in.png') });
    } finally {
      await context.close();
    }
  }, 60_000);

  it('fills the live events with the ones from before the page was opened', async () => {
    const boss = await addAgent(hub, 'boss');
    await addAgent(hub, 'bot');
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await boss.post('/api/tasks', { target: 'bot', task: `before ${n}` })).body.task.id);
    await boss.post(`/api/tasks/${ids[0]}/cancel`);

    dash = await openDashboard(browser, hub);
    const { page } = dash;
    await page.locator('#events li').nth(3).waitFor();
    const types = await page.locator('#events li').evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.type));
    expect(types).toEqual(['task.cancelled', 'task.assigned', 'task.assigned', 'task.assigned']);
    // The backfill is history: the task table still shows each task as it is now.
    await page.locator(`#tasks tr[data-id="${ids[0]}"][data-status="cancelled"]`).waitFor();
    await page.locator(`#tasks tr[data-id="${ids[1]}"][data-status="assigned"]`).waitFor();
  }, 60_000);

  it('keeps agents and events above the fold with 50 tasks, and shows an email answer as the agent last seen', async () => {
    const boss = await addAgent(hub, 'boss');
    await addAgent(hub, 'mailer', { email: 'mailer@example.com' });
    for (let i = 0; i < 49; i++) await boss.post('/api/tasks', { target: 'boss', task: `task number ${i} of a busy day` });
    const id = (await boss.post('/api/tasks', { target: 'mailer', task: 'answer by mail' })).body.task.id as string;

    dash = await openDashboard(browser, hub, { width: 1440, height: 900 });
    const { page } = dash;
    await page.locator('#tasks tbody tr').nth(49).waitFor();
    await page.locator('#agents tr[data-agent="mailer"]').filter({ hasText: 'never' }).waitFor();
    for (const panel of ['#agents-panel', '#events-panel']) {
      const box = (await page.locator(panel).boundingBox())!;
      expect(box.y + 80, `${panel} starts at ${box.y}`).toBeLessThan(900);
    }

    // The mail the hub sent the offline agent, and the agent's answer to its Reply-To.
    let replyTo = '';
    for (let tries = 0; !replyTo && tries < 100; tries++) {
      const { mails } = (await call(hub, hub.adminToken, 'GET', '/api/mailbox')).body as { mails: { subject: string; headers: Record<string, string> }[] };
      const mail = mails.find((m) => m.subject.includes(id));
      replyTo = mail ? /<?([^<>\s]+@[^<>\s]+)>?/.exec(mail.headers['reply-to'] ?? '')![1]! : '';
      if (!replyTo) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await sendMail(hub.smtpPort, { from: 'mailer@example.com', to: replyTo, subject: `ACK:${id}` })).ok).toBe(true);
    await page.locator('#agents tr[data-agent="mailer"] time').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: artifactPath('dashboard-50-tasks.png') });
    expect(dash.errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  }, 90_000);
});
