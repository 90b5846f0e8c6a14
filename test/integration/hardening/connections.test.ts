import fs from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { startTaskhub, type Taskhub } from '../../../src/main.js';
import { startInboundSmtp } from '../../../src/transport/email/inbound.js';
import { createReplyAddresses } from '../../../src/transport/email/reply-address.js';
import { addAgent, call } from '../../helpers/api.js';
import { makeDataDir, startTestHub, type TestHub } from '../../helpers/hub.js';
import { rawStream } from '../../helpers/raw-stream.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

/** A TCP connection that sends nothing; `closed` resolves with its age (ms) when the other side ends it. */
function silentSocket(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  // Reads (and drops) whatever comes, so that the other side's end is seen.
  socket.resume();
  const closed = new Promise<number>((resolve) => {
    const opened = Date.now();
    socket.once('close', () => resolve(Date.now() - opened));
  });
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  cleanups.push(() => socket.destroy());
  return { socket, closed, connected };
}

const portOf = (url: string) => Number(new URL(url).port);
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref())]);

describe('HTTP connections (issue 15, item 4)', () => {
  it('closes a connection that sends nothing, or idles between requests, after TASKHUB_IDLE_TIMEOUT_MS', async () => {
    const hub = await startTestHub({ TASKHUB_IDLE_TIMEOUT_MS: '300' });
    cleanups.push(() => hub.stop());
    const silent = silentSocket(portOf(hub.url));
    expect(await within(silent.closed, 5000)).toBeLessThan(3000);

    const keptAlive = silentSocket(portOf(hub.url));
    await keptAlive.connected;
    keptAlive.socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(await within(keptAlive.closed, 5000)).toBeLessThan(3000);
  });

  it('leaves a streaming SSE connection and a held rpc open past the idle timeout', async () => {
    const hub = await startTestHub({ TASKHUB_IDLE_TIMEOUT_MS: '300', TASKHUB_HEARTBEAT_MS: '600000' });
    cleanups.push(() => hub.stop());
    const worker = await addAgent(hub, 'worker');
    const stream = rawStream(hub.url, worker.token);
    cleanups.push(() => stream.close());
    await expect.poll(() => stream.text()).toContain('event: ready');
    const held = worker.post('/api/tasks/rpc', { target: 'worker', task: 'slow', timeout: 30 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const assigned = stream.text().match(/"taskId":"([0-9a-f-]{36})"/);
    expect(assigned).not.toBeNull();
    await worker.post(`/api/tasks/${assigned![1]}/complete`, { result: 'late' });
    expect((await held).body).toMatchObject({ status: 'completed', result: 'late' });
    await expect.poll(() => stream.text()).toContain('event: task.completed');
  });

  it('at TASKHUB_MAX_CONNECTIONS sheds the oldest idle connections, logs it, and /healthz still answers', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const dataDir = makeDataDir();
    const config = loadConfig({
      PORT: '0', TASKHUB_SMTP_PORT: '0', TASKHUB_DATA_DIR: dataDir, TASKHUB_MAX_CONNECTIONS: '50', TASKHUB_IDLE_TIMEOUT_MS: '60000',
    });
    const hub: Taskhub = await startTaskhub(config, pino({ level: 'info' }, sink));
    cleanups.push(async () => {
      await hub.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const sockets = Array.from({ length: 300 }, () => silentSocket(portOf(hub.url)));
    await Promise.all(sockets.map((s) => within(s.connected, 5000)));
    // Each new socket past the cap pushed out the oldest idle one: at most 50 stay open.
    await expect.poll(() => sockets.filter((s) => !s.socket.destroyed && s.socket.readyState === 'open').length).toBeLessThanOrEqual(50);
    for (let i = 0; i < 5; i++) expect((await call(hub, undefined, 'GET', '/healthz')).status).toBe(200);
    expect(lines.some((l) => l.includes('connection cap of 50 reached'))).toBe(true);
  });
});

describe('SMTP connections (issue 15, item 4)', () => {
  it('disconnects a client that sends nothing after its idle timeout', async () => {
    const hub: TestHub = await startTestHub();
    cleanups.push(() => hub.stop());
    const inbound = await startInboundSmtp(
      {
        tasks: hub.hub.tasks,
        agents: hub.store.agents,
        replyAddresses: createReplyAddresses('x'.repeat(32), 'localhost'),
        logger: pino({ level: 'silent' }),
      },
      { port: 0, host: '127.0.0.1', idleTimeoutMs: 300 },
    );
    cleanups.push(() => inbound.stop());
    const silent = silentSocket(inbound.port);
    expect(await within(silent.closed, 5000)).toBeLessThan(3000);
  });
});
