import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TaskhubClient } from '../../src/client/index.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

let hub: TestHub;
let admin: TaskhubClient;

beforeAll(ensureBuilt, 180_000);
beforeEach(async () => {
  hub = await startTestHub({ TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true' });
  admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
});
afterEach(async () => {
  await hub.stop();
});

const as = (token: string) => ({ TASKHUB_URL: hub.url, TASKHUB_TOKEN: token });

async function agentEnv(name: string) {
  return as((await admin.createAgent({ name })).token);
}

describe('CLI: taskhub webhook', () => {
  it('sets a webhook and prints only the secret on stdout, then shows, retries and removes it', async () => {
    const env = await agentEnv('worker');
    const set = await runCli(['webhook', 'set', 'http://127.0.0.1:9/hook', '--events', 'task.assigned,message'], env);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^whsec_[A-Za-z0-9+/]{43}=\n$/);
    expect(set.stderr).toMatch(/webhook set to http:\/\/127\.0\.0\.1:9\/hook \(events: task\.assigned,message\).*not shown again/);
    expect((await admin.getWebhook({ agent: 'worker' })).webhook.events).toEqual(['task.assigned', 'message']);

    const show = await runCli(['webhook', 'show'], env);
    expect(show).toMatchObject({ code: 0, stderr: '' });
    expect(show.stdout).toMatch(/^url:\s+http:\/\/127\.0\.0\.1:9\/hook\nevents:\s+task\.assigned,message\ncreated:\s+\S+\ndeliveries:\s+0 queued, 0 sent, 0 failed\n$/);
    expect(show.stdout).not.toContain('whsec_');

    const json = await runCli(['--json', 'webhook', 'show'], env);
    expect(JSON.parse(json.stdout)).toEqual(await admin.getWebhook({ agent: 'worker' }));

    expect(await runCli(['webhook', 'retry'], env)).toMatchObject({ code: 0, stdout: '0 deliveries queued again\n' });
    expect(JSON.parse((await runCli(['--json', 'webhook', 'retry'], env)).stdout)).toEqual({ requeued: 0 });
    expect(await runCli(['webhook', 'remove'], env)).toMatchObject({ code: 0, stdout: 'webhook removed\n' });

    const none = await runCli(['webhook', 'show'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^taskhub: not_found \(404\)/);
  });

  it('acts for --agent with an admin token, and asks for --agent when the token is an admin one', async () => {
    await agentEnv('worker');
    const set = await runCli(['--json', 'webhook', 'set', 'http://127.0.0.1:9/hook', '--agent', 'worker'], as(hub.adminToken));
    expect(set.code, set.stderr).toBe(0);
    const { webhook, secret } = JSON.parse(set.stdout);
    expect(webhook).toMatchObject({ url: 'http://127.0.0.1:9/hook', events: null });
    expect(secret).toMatch(/^whsec_/);
    expect((await runCli(['webhook', 'show', '--agent', 'worker'], as(hub.adminToken))).stdout).toMatch(/^events:\s+all$/m);

    const bare = await runCli(['webhook', 'show'], as(hub.adminToken));
    expect(bare).toMatchObject({ code: 1, stdout: '' });
    expect(bare.stderr).toBe("taskhub: this token is not an agent's own (an admin token?): name the agent with --agent <name>.\n");
  });

  it('refuses bad input with the usage or contract error and changes nothing', async () => {
    const env = await agentEnv('worker');
    const empty = await runCli(['webhook', 'set', 'http://127.0.0.1:9/hook', '--events', ','], env);
    expect(empty).toMatchObject({ code: 1 });
    expect(empty.stderr).toMatch(/--events needs at least one event type/);
    const badUrl = await runCli(['webhook', 'set', 'ftp://example.com/x'], env);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/^taskhub: validation_failed \(400\)/);
    const badType = await runCli(['webhook', 'set', 'http://127.0.0.1:9/hook', '--events', 'task.nope'], env);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toMatch(/--events/);
    expect((await runCli(['webhook', 'show'], env)).code).toBe(2);
  });

  it('shows failed deliveries as a table and sends them again with retry', async () => {
    await hub.stop();
    hub = await startTestHub({ TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true', TASKHUB_WEBHOOK_RETRY_BASE_MS: '50', TASKHUB_WEBHOOK_MAX_AGE_MS: '300' });
    admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
    const receiver = await startReceiver(() => 503);
    try {
      const env = await agentEnv('worker');
      const boss = new TaskhubClient({ url: hub.url, token: (await admin.createAgent({ name: 'boss' })).token });
      expect((await runCli(['webhook', 'set', receiver.url], env)).code).toBe(0);
      await boss.assignTask({ target: 'worker', task: 'x' });
      await expect.poll(async () => (await admin.getWebhook({ agent: 'worker' })).deliveries.failed, { timeout: 5000 }).toBe(1);
      const eventId = receiver.received[0]!.headers['webhook-id'];

      const show = await runCli(['webhook', 'show'], env);
      expect(show.stdout).toMatch(/deliveries:\s+0 queued, 0 sent, 1 failed\n\nfailed deliveries \(newest first; `taskhub webhook retry` sends them again\):\n/);
      expect(show.stdout).toMatch(new RegExp(`\\nEVENT\\s+ATTEMPTS\\s+LAST ATTEMPT\\s+LAST ERROR\\n${eventId}\\s+\\d+\\s+\\S+Z\\s+HTTP 503\\n$`));

      receiver.behave(() => 204);
      expect(await runCli(['webhook', 'retry'], env)).toMatchObject({ code: 0, stdout: '1 delivery queued again\n' });
      await expect.poll(async () => (await admin.getWebhook({ agent: 'worker' })).deliveries).toEqual({ queued: 0, sent: 1, failed: 0 });
      expect(receiver.received.at(-1)!.headers['webhook-id']).toBe(eventId);
    } finally {
      await receiver.close();
    }
  });
});
