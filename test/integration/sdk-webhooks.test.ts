import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError, TaskhubClient } from '../../src/client/index.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { rejection } from '../helpers/promises.js';

let hub: TestHub;
let admin: TaskhubClient;

async function agentClient(name: string): Promise<TaskhubClient> {
  const { token } = await admin.createAgent({ name });
  return new TaskhubClient({ url: hub.url, token });
}

beforeEach(async () => {
  // The receivers of these tests would be on loopback; nothing is delivered here, but the URLs must pass the guard.
  hub = await startTestHub({ TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true' });
  admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
});
afterEach(async () => {
  await hub.stop();
});

describe('SDK: webhook methods', () => {
  it("sets, reads, retries and removes the token's own agent's webhook", async () => {
    const worker = await agentClient('worker');
    const set = await worker.setWebhook('http://127.0.0.1:9/hook', { events: ['task.assigned', 'message'] });
    expect(set.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(set.webhook).toMatchObject({ url: 'http://127.0.0.1:9/hook', events: ['task.assigned', 'message'] });

    expect(await worker.getWebhook()).toEqual({ webhook: set.webhook, deliveries: { queued: 0, sent: 0, failed: 0 }, failed: [] });
    expect(await worker.retryWebhook()).toBe(0);

    const replaced = await worker.setWebhook('http://127.0.0.1:9/other');
    expect(replaced.webhook.events).toBeNull();
    expect(replaced.secret).not.toBe(set.secret);

    await worker.removeWebhook();
    const gone = await rejection(worker.getWebhook());
    expect(gone).toBeInstanceOf(HttpError);
    expect(gone).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('acts for a named agent with an admin token, and an agent only for itself', async () => {
    const worker = await agentClient('worker');
    const other = await agentClient('other');
    await admin.setWebhook('http://127.0.0.1:9/hook', { agent: 'worker' });
    expect((await worker.getWebhook()).webhook.url).toBe('http://127.0.0.1:9/hook');
    expect((await admin.getWebhook({ agent: 'worker' })).webhook.url).toBe('http://127.0.0.1:9/hook');
    expect(await rejection(other.getWebhook({ agent: 'worker' }))).toMatchObject({ status: 403, code: 'forbidden' });
    expect(await rejection(other.removeWebhook({ agent: 'worker' }))).toMatchObject({ status: 403 });
    expect(await admin.retryWebhook({ agent: 'worker' })).toBe(0);
    await admin.removeWebhook({ agent: 'worker' });
    expect(await rejection(worker.getWebhook())).toMatchObject({ status: 404 });
  });

  it('refuses an admin token without a name before calling the hub', async () => {
    for (const call of [() => admin.getWebhook(), () => admin.setWebhook('http://127.0.0.1:9/x'), () => admin.removeWebhook(), () => admin.retryWebhook()]) {
      const refused = await rejection(call());
      expect(refused).toBeInstanceOf(TypeError);
      expect((refused as Error).message).toMatch(/admin token .* pass \{ agent: name \}/);
    }
    const stranger = new TaskhubClient({ url: hub.url, token: 'not-a-jwt' });
    expect(await rejection(stranger.getWebhook())).toBeInstanceOf(TypeError);
  });

  it("passes on the hub's refusals: a bad URL, the SSRF guard", async () => {
    const worker = await agentClient('worker');
    expect(await rejection(worker.setWebhook('ftp://example.com/x'))).toMatchObject({ status: 400, code: 'validation_failed' });
    await hub.stop();
    hub = await startTestHub();
    admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
    const guarded = await agentClient('worker');
    expect(await rejection(guarded.setWebhook('http://169.254.169.254/latest'))).toMatchObject({ status: 422, code: 'webhook_url_refused' });
    expect(await rejection(guarded.getWebhook())).toMatchObject({ status: 404 });
  });
});
