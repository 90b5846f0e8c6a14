import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpError, TaskhubClient, type ErrorInfo } from '../../src/client/index.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub;
let admin: TaskhubClient;
const WAIT = { timeout: 15_000, interval: 50 };
const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/readme-worker.ts');

beforeEach(async () => {
  hub = await startTestHub();
  admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
});
afterEach(() => hub.stop());

/** Runs the README's worker in its own process, as a person would. */
function runReadmeWorker(url: string, token: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...process.env, TASKHUB_URL: url, TASKHUB_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { stderr: () => stderr, exited, stop: () => (child.kill('SIGKILL'), exited) };
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('SDK: fatal and transient errors', () => {
  it('the README worker exits 1 with one line naming the hub\'s refusal of a bad token', async () => {
    const run = runReadmeWorker(hub.url, 'not-a-token');
    expect(await run.exited).toBe(1);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toEqual(['taskhub worker: unauthorized (401): The token is not valid. (stopped)']);
  }, 30_000);

  it('the README worker says on stderr, once per attempt, that it retries while the hub is down', async () => {
    const run = runReadmeWorker(`http://127.0.0.1:${await deadPort()}`, 'any');
    try {
      await vi.waitFor(() => expect(run.stderr().match(/retrying in \d+\.\d s/g)?.length).toBeGreaterThanOrEqual(2), WAIT);
      expect(run.stderr()).toMatch(/^taskhub worker: The event stream to http:\/\/127\.0\.0\.1:\d+ dropped: .* \(retrying in/m);
    } finally {
      await run.stop();
    }
  }, 30_000);

  it('rejects worker.ready for a deleted agent (401) and for an admin token, which cannot take tasks (403)', async () => {
    const { token } = await admin.createAgent({ name: 'gone' });
    await admin.removeAgent('gone');
    for (const [who, expected] of [
      [token, { status: 401, message: 'The token names an agent that does not exist.' }],
      [hub.adminToken, { status: 403, code: 'forbidden' }],
    ] as const) {
      const seen: [Error, ErrorInfo][] = [];
      const worker = new TaskhubClient({ url: hub.url, token: who }).worker({
        capabilities: {},
        onError: (error, info) => seen.push([error, info]),
      });
      await expect(worker.ready).rejects.toMatchObject(expected);
      expect(seen.map(([e, i]) => [e instanceof HttpError && e.status, i.fatal])).toEqual([[expected.status, true]]);
      await worker.stop();
    }
  });

  it('reports transient stream errors with the delay of the next attempt; close() ends the retries and resolves ready', async () => {
    const { token } = await admin.createAgent({ name: 'bot' });
    const port = await deadPort();
    const seen: ErrorInfo[] = [];
    const sub = new TaskhubClient({ url: `http://127.0.0.1:${port}`, token }).subscribe(() => undefined, {
      minDelayMs: 50,
      maxDelayMs: 100,
      onError: (_error, info) => seen.push(info),
    });
    try {
      await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(2), WAIT);
      expect(seen.every((i) => !i.fatal && i.retryInMs! >= 25 && i.retryInMs! <= 100)).toBe(true);
    } finally {
      sub.close();
    }
    await sub.ready;
  });
});
