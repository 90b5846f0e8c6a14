import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TaskhubClient } from '../../src/client/index.js';
import { ensureBuilt } from '../helpers/cli.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

// docs/webhooks.md's receiver, run as written in a real Node process that imports the built SDK as a user's
// project would, and sent requests signed by the standardwebhooks package.
const ROOT = path.resolve(import.meta.dirname, '../..');

function receiverCode(): string {
  const text = fs.readFileSync(path.join(ROOT, 'docs/webhooks.md'), 'utf8');
  const start = text.indexOf('## Checking the signature');
  const block = /```js\n([\s\S]*?)```/.exec(text.slice(start));
  if (start < 0 || !block) throw new Error('docs/webhooks.md has no receiver under "## Checking the signature"');
  return block[1]!;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let child: ChildProcess | undefined;
let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.stop();
  hub = undefined;
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  child = undefined;
});
beforeAll(ensureBuilt, 180_000);

/** Starts the receiver and resolves once it accepts connections, with its URL and its stdout so far. */
async function startReceiver(secret: string, port?: number) {
  port ??= await freePort();
  const proc = spawn(process.execPath, ['--input-type=module', '-e', receiverCode()], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, WEBHOOK_SECRET: secret, PORT: String(port) },
  });
  child = proc;
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const url = `http://127.0.0.1:${port}/`;
  for (let tries = 0; ; tries++) {
    if (proc.exitCode !== null) throw new Error(`the receiver exited: ${stderr}`);
    const up = await fetch(url, { method: 'POST', body: '' }).then(() => true, () => false);
    if (up) break;
    if (tries > 200) throw new Error(`the receiver did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, stdout: () => stdout };
}

/** What the hub would send for `body`, signed by standardwebhooks at `at` (ms). */
function signedHeaders(secret: string, body: string, at = Date.now()): Record<string, string> {
  const id = String(JSON.parse(body).id);
  const seconds = Math.floor(at / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(seconds),
    'webhook-signature': new Webhook(secret).sign(id, new Date(seconds * 1000), body),
  };
}

const post = (url: string, headers: Record<string, string>, body: string) => fetch(url, { method: 'POST', headers, body });

describe("docs/webhooks.md's receiver", () => {
  it('accepts a delivery signed the Standard Webhooks way and refuses a tampered, stale or foreign one', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const receiver = await startReceiver(secret);
    const body = JSON.stringify({ id: 7, type: 'task.assigned', at: new Date().toISOString(), taskId: 't', task: { task: 'é' } });

    const ok = await post(receiver.url, signedHeaders(secret, body), body);
    expect(ok.status).toBe(204);
    await expect.poll(receiver.stdout).toBe('event 7: task.assigned\n');

    const tampered = await post(receiver.url, signedHeaders(secret, body), body.replace('é', 'e'));
    expect(tampered.status).toBe(400);
    expect(await tampered.text()).toMatch(/No signature matches/);
    const stale = await post(receiver.url, signedHeaders(secret, body, Date.now() - 10 * 60_000), body);
    expect([stale.status, await stale.text()]).toEqual([400, expect.stringMatching(/ago, more than the 300 s allowed/)]);
    const foreign = await post(receiver.url, signedHeaders(`whsec_${randomBytes(32).toString('base64')}`, body), body);
    expect(foreign.status).toBe(400);
    expect(receiver.stdout()).toBe('event 7: task.assigned\n');
  }, 30_000);

  it("takes the hub's own deliveries, signed with the secret setWebhook returned", async () => {
    hub = await startTestHub({ TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true' });
    const admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
    const worker = new TaskhubClient({ url: hub.url, token: (await admin.createAgent({ name: 'worker' })).token });
    const boss = new TaskhubClient({ url: hub.url, token: (await admin.createAgent({ name: 'boss' })).token });
    // The secret exists only once the webhook is set, so the receiver starts on a URL chosen before it.
    const port = await freePort();
    const { secret } = await worker.setWebhook(`http://127.0.0.1:${port}/`);
    const receiver = await startReceiver(secret, port);
    const task = await boss.assignTask({ target: 'worker', task: 'from the hub' });
    const [event] = await boss.taskEvents(task.id);
    await expect.poll(receiver.stdout, { timeout: 10_000 }).toBe(`event ${event!.id}: task.assigned\n`);
    await expect.poll(async () => (await worker.getWebhook()).deliveries).toEqual({ queued: 0, sent: 1, failed: 0 });
  }, 30_000);
});
