import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TaskhubClient } from '../../src/client/index.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

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
});
