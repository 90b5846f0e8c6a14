import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, as, call, type Client } from '../helpers/api.js';
import { artifactPath, launchBrowser, openDashboard, type DashboardPage } from '../helpers/browser.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { openStream, type TestStream } from '../helpers/stream.js';

const XSS = '<img src=x onerror=alert(1)>';

let browser: Browser;
let hub: TestHub;
let dash: DashboardPage | undefined;
let streams: TestStream[] = [];

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
  for (const stream of streams) stream.close();
  streams = [];
  await dash?.close();
  dash = undefined;
  await hub.stop();
});

const open = async () => (dash = await openDashboard(browser, hub));
const row = (page: Page, id: string, status?: string) =>
  page.locator(`#tasks tr[data-id="${id}"]${status ? `[data-status="${status}"]` : ''}`);
/** Browser errors other than the 404s of routes this hub does not have (rpc, mailbox), which the page expects. */
const unexpectedErrors = (d: DashboardPage) => d.errors.filter((e) => !/status of 404/.test(e));

async function assign(client: Client, target: string, task: string, extra: object = {}) {
  const res = await client.post('/api/tasks', { target, task, ...extra });
  expect(res.status).toBe(201);
  return res.body.task as { id: string };
}

describe('dashboard sign-in', () => {
  it('asks for an admin token once, refuses others, and keeps it in sessionStorage only', async () => {
    const agent = await addAgent(hub, 'worker');
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(hub.url);
      const input = page.locator('#login input[name=token]');
      const error = page.locator('#login .error');
      await input.fill(agent.token);
      await page.locator('#login button[type=submit]').click();
      await error.filter({ hasText: 'needs an admin token' }).waitFor();
      await input.fill('not-a-token');
      await page.locator('#login button[type=submit]').click();
      await error.filter({ hasText: 'did not accept' }).waitFor();
      expect(await page.locator('#app').isHidden()).toBe(true);

      await input.fill(hub.adminToken);
      await page.locator('#login button[type=submit]').click();
      await page.locator('#conn.conn-live').waitFor();
      const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('taskhub.adminToken'), local: localStorage.length }));
      expect(stored).toEqual({ session: hub.adminToken, local: 0 });

      // Reloading the tab keeps the session: no second prompt.
      await page.reload();
      await page.locator('#conn.conn-live').waitFor();
      expect(await page.locator('#login').isHidden()).toBe(true);

      await page.locator('#sign-out').click();
      await page.locator('#login').waitFor();
      expect(await page.evaluate(() => sessionStorage.getItem('taskhub.adminToken'))).toBeNull();
    } finally {
      await context.close();
    }
  }, 60_000);
});

describe('dashboard live views', () => {
  it('shows a task assigned through the API and follows it through its statuses without a reload', async () => {
    const { page, errors } = await open();
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const agent = await addAgent(hub, 'writer', { capabilities: ['summarize'] });
    const admin = as(hub, hub.adminToken);

    const task = await assign(admin, 'writer', 'Summarize the quarterly report');
    await row(page, task.id, 'assigned').waitFor();
    expect(await row(page, task.id).textContent()).toContain('Summarize the quarterly report');

    await agent.post(`/api/tasks/${task.id}/claim`);
    await row(page, task.id, 'claimed').waitFor();
    await agent.post(`/api/tasks/${task.id}/progress`, { message: 'read half of it', progress: 0.5 });
    await row(page, task.id, 'in_progress').waitFor();
    await row(page, task.id).click();
    await page.locator('#task-detail .history li[data-type="task.progress"]').filter({ hasText: 'read half of it' }).waitFor();

    await agent.post(`/api/tasks/${task.id}/complete`, { result: { summary: 'revenue up 12%' } });
    await row(page, task.id, 'completed').waitFor();
    // The open detail follows too: result and the whole history, in order.
    await page.locator('#task-detail .block.result').filter({ hasText: 'revenue up 12%' }).waitFor();
    const history = await page.locator('#task-detail .history li').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.type));
    expect(history).toEqual(['task.assigned', 'task.claimed', 'task.progress', 'task.completed']);
    await page.locator('#events li[data-type="task.completed"]').waitFor();
    await page.locator('#stats [data-stat="completed"] strong').filter({ hasText: /^1$/ }).waitFor();
    await page.locator('#agents tr[data-agent="writer"] td[data-open="0"]').waitFor();

    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(42);
    expect(unexpectedErrors(dash!)).toEqual([]);
    expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  }, 60_000);

  it('assigns a task with the form, and refuses a payload that is not JSON without creating anything', async () => {
    const { page } = await open();
    await addAgent(hub, 'coder', { capabilities: ['code'] });
    await page.locator('#f-target option[value="coder"]').waitFor({ state: 'attached' });
    await page.locator('#f-target').selectOption('coder');
    await page.locator('#f-task').fill('Fix the login bug');
    await page.locator('#f-priority').selectOption('urgent');
    await page.locator('#f-payload').fill('{not json');
    await page.locator('#f-assign').click();
    await page.locator('#f-result .outcome.error').filter({ hasText: 'not valid JSON' }).waitFor();
    expect((await call(hub, hub.adminToken, 'GET', '/api/tasks')).body.tasks).toEqual([]);

    await page.locator('#f-payload').fill('{"issue": 42}');
    await page.locator('#f-assign').click();
    await page.locator('#f-result .outcome.ok').filter({ hasText: 'Assigned' }).waitFor();
    const { tasks } = (await call(hub, hub.adminToken, 'GET', '/api/tasks')).body;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ task: 'Fix the login bug', target: 'coder', assigner: 'admin', priority: 'urgent', payload: { issue: 42 }, status: 'assigned' });
    await row(page, tasks[0].id, 'assigned').waitFor();
    expect(await page.locator('#f-task').inputValue()).toBe('');

    // A refusal of the hub is shown as it was given.
    await page.locator('#f-target').selectOption('');
    await page.locator('#f-capability').fill('juggling');
    await page.locator('#f-task').fill('Juggle');
    await page.locator('#f-assign').click();
    await page.locator('#f-result .outcome.error').filter({ hasText: 'juggling' }).waitFor();
  }, 60_000);

  it(`shows a task text of ${XSS} as text, never as an element`, async () => {
    const { page, dialogs } = await open();
    await addAgent(hub, 'victim', { description: '<b>bold</b><script>alert(2)</script>' });
    const admin = as(hub, hub.adminToken);
    const task = await assign(admin, 'victim', XSS, { payload: { html: XSS } });
    await row(page, task.id).waitFor();
    await row(page, task.id).click();

    await page.locator('#tasks').getByText(XSS, { exact: true }).waitFor();
    await page.locator('#task-detail .task-text').getByText(XSS, { exact: true }).waitFor();
    await page.locator('#events').getByText(XSS).waitFor();
    await page.locator('#agents').getByText('<b>bold</b><script>alert(2)</script>').waitFor();
    expect(await page.locator('#app img, #app script, #app b').count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  }, 60_000);

  it('cancels a task from its detail', async () => {
    const { page } = await open();
    await addAgent(hub, 'slow');
    const task = await assign(as(hub, hub.adminToken), 'slow', 'Take forever');
    await row(page, task.id).click();
    await page.locator('#task-detail button[data-action="cancel"]').click();
    await row(page, task.id, 'cancelled').waitFor();
    expect((await call(hub, hub.adminToken, 'GET', `/api/tasks/${task.id}`)).body.task.status).toBe('cancelled');
    expect(await page.locator('#task-detail button[data-action="cancel"]').count()).toBe(0);
  }, 60_000);
});

describe('dashboard parts built beside the core', () => {
  // The rpc and email parts may not be on this hub: the page then says so, and the test checks that instead.
  it('calls an agent with rpc and shows the answer, or says rpc is not available', async () => {
    const { page } = await open();
    const oracle = await addAgent(hub, 'oracle', { capabilities: ['math'] });
    const probe = await call(hub, hub.adminToken, 'POST', '/api/tasks/rpc', {});
    await page.locator('#f-target option[value="oracle"]').waitFor({ state: 'attached', timeout: 20_000 });
    await page.locator('#f-target').selectOption('oracle');
    await page.locator('#f-task').fill('What is 6 x 7?');
    await page.locator('#f-timeout').fill('30');
    await page.locator('#f-rpc').click();
    if (probe.status === 404) {
      await page.locator('#f-result .outcome.error').filter({ hasText: 'RPC is not available on this hub' }).waitFor();
      return;
    }
    await page.locator('#f-result .outcome.wait').waitFor();
    let pending: { id: string; kind: string }[] = [];
    await expect.poll(async () => (pending = (await oracle.get('/api/tasks/pending')).body.tasks).length, { timeout: 15_000 }).toBe(1);
    expect(pending[0]!.kind).toBe('rpc');
    await page.locator('#stats [data-stat="rpc"] strong').filter({ hasText: /^1$/ }).waitFor({ timeout: 20_000 });
    await oracle.post(`/api/tasks/${pending[0]!.id}/complete`, { result: { answer: 42 } });
    await page.locator('#f-result .outcome.ok').filter({ hasText: '"answer": 42' }).waitFor();
  }, 60_000);

  it('shows the dev mailbox, or says it is not available', async () => {
    const probe = await call(hub, hub.adminToken, 'GET', '/api/mailbox');
    await addAgent(hub, 'mailer', { email: 'mailer@example.com' });
    const { page } = await open();
    if (probe.status === 404) {
      await page.locator('#mailbox').getByText('not available on this hub').waitFor();
      return;
    }
    // An agent with no stream and an email gets its task by mail, which the embedded server keeps.
    const task = await assign(as(hub, hub.adminToken), 'mailer', 'Reply by email');
    await page.locator('#mailbox .mails li').filter({ hasText: task.id }).waitFor({ timeout: 30_000 });
  }, 60_000);
});

describe('dashboard overview', () => {
  it('reads at a glance: figures, agents, tasks in every status, events; saved as test-artifacts/dashboard.png', async () => {
    const admin = as(hub, hub.adminToken);
    const writer = await addAgent(hub, 'writer', { capabilities: ['summarize', 'translate'], description: 'Summaries and translations' });
    const coder = await addAgent(hub, 'coder', { capabilities: ['code', 'review'], description: 'Writes and reviews code' });
    await addAgent(hub, 'mailer', { capabilities: ['notify'], email: 'mailer@example.com', description: 'Reachable by email only' });
    const stream = openStream(hub.url, writer.token);
    streams.push(stream);
    await stream.waitFor((events) => events.some((e) => e.type === 'ready'));
    const { page } = await open();
    const texts = ['Summarize the Q3 board minutes', 'Translate the release notes to German', 'Review pull request #481',
      'Fix the flaky login test', 'Summarize customer interviews', 'Write the migration for invoices', 'Notify on-call about the outage'];
    const made: { id: string }[] = [];
    for (const [i, text] of texts.entries()) {
      const target = ['writer', 'writer', 'coder', 'coder', 'writer', 'coder', 'mailer'][i]!;
      made.push(await assign(admin, target, text, { priority: ['normal', 'high', 'urgent', 'normal', 'low', 'normal', 'high'][i] }));
    }
    const by = (i: number) => made[i]!.id;
    await writer.post(`/api/tasks/${by(0)}/claim`);
    await writer.post(`/api/tasks/${by(0)}/complete`, { result: { summary: 'Budget approved; hiring frozen until Q1.' } });
    await writer.post(`/api/tasks/${by(1)}/claim`);
    await writer.post(`/api/tasks/${by(1)}/progress`, { message: 'section 3 of 5', progress: 0.6 });
    await coder.post(`/api/tasks/${by(2)}/claim`);
    await coder.post(`/api/tasks/${by(3)}/fail`, { error: 'cannot reproduce on main' });
    await admin.post(`/api/tasks/${by(5)}/cancel`);
    await row(page, by(5), 'cancelled').waitFor();
    await row(page, by(0)).click();
    await page.locator('#task-detail .block.result').waitFor();
    await page.locator('#events li[data-type="task.cancelled"]').waitFor();
    await page.locator('#stats [data-stat="failed"] strong').filter({ hasText: /^1$/ }).waitFor();
    await page.locator('#agents tr[data-agent="writer"] .dot.on').waitFor();
    if ((await call(hub, hub.adminToken, 'GET', '/api/mailbox')).status === 200) {
      await page.locator('#mailbox .mails li').filter({ hasText: by(6) }).waitFor({ timeout: 30_000 });
    }

    const file = artifactPath('dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
    expect(unexpectedErrors(dash!)).toEqual([]);
  }, 60_000);
});
