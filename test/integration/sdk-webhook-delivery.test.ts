import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskhubClient, verifyWebhook, WebhookVerificationError, type HubEvent } from '../../src/client/index.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

// The SDK on both ends of a real delivery: setWebhook on the agent's side, verifyWebhook on the receiver's, with
// the hub's own signing in between.
let hub: TestHub;
let receiver: Receiver;
let admin: TaskhubClient;

beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await hub.stop();
  await receiver.close();
});

async function start(env: Record<string, string> = {}) {
  hub = await startTestHub({ TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true', TASKHUB_WEBHOOK_RETRY_BASE_MS: '50', TASKHUB_WEBHOOK_RETRY_MAX_MS: '100', ...env });
  admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
  await admin.createAgent({ name: 'boss' });
  const boss = new TaskhubClient({ url: hub.url, token: await admin.rotateToken('boss') });
  const worker = new TaskhubClient({ url: hub.url, token: (await admin.createAgent({ name: 'worker' })).token });
  return { boss, worker };
}

describe('SDK: a real delivery', () => {
  it('verifies what the hub POSTs with the secret setWebhook returned, and refuses it with an older one', async () => {
    const { boss, worker } = await start();
    const { secret: old } = await worker.setWebhook(receiver.url);
    const { secret } = await worker.setWebhook(receiver.url, { events: ['task.assigned'] });
    const task = await boss.assignTask({ target: 'worker', task: 'summarise' });
    const [post] = await receiver.waitFor(1);

    const event = verifyWebhook(secret, post!.headers, post!.body);
    expect(event).toMatchObject({ type: 'task.assigned', taskId: task.id, task: { id: task.id, task: 'summarise' } });
    expect(String(event.id)).toBe(post!.headers['webhook-id']);
    expect(verifyWebhook<HubEvent>(secret, new Headers(post!.headers), Buffer.from(post!.body))).toEqual(event);
    expect(() => verifyWebhook(old, post!.headers, post!.body)).toThrow(WebhookVerificationError);
    await expect.poll(async () => (await worker.getWebhook()).deliveries).toEqual({ queued: 0, sent: 1, failed: 0 });
  });

  it('lists a failed delivery in getWebhook and sends it again, with the same webhook-id, on retryWebhook', async () => {
    receiver.behave(() => 500);
    const { boss, worker } = await start({ TASKHUB_WEBHOOK_MAX_AGE_MS: '300' });
    const { secret } = await worker.setWebhook(receiver.url);
    await boss.assignTask({ target: 'worker', task: 'fails first' });
    await expect.poll(async () => (await worker.getWebhook()).deliveries, { timeout: 5000 }).toEqual({ queued: 0, sent: 0, failed: 1 });
    const { failed } = await worker.getWebhook();
    const firstId = receiver.received[0]!.headers['webhook-id'];
    expect(failed).toEqual([{ eventId: Number(firstId), attempts: expect.any(Number), lastError: 'HTTP 500', lastAttemptAt: expect.any(String) }]);

    receiver.behave(() => 204);
    const before = receiver.received.length;
    expect(await worker.retryWebhook()).toBe(1);
    const again = (await receiver.waitFor(before + 1))[before]!;
    expect(again.headers['webhook-id']).toBe(firstId);
    expect(verifyWebhook(secret, again.headers, again.body).id).toBe(Number(firstId));
    await expect.poll(async () => (await worker.getWebhook()).deliveries).toEqual({ queued: 0, sent: 1, failed: 0 });
    expect((await admin.getWebhook({ agent: 'worker' })).failed).toEqual([]);
  });
});
