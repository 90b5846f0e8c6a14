import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TaskhubClient } from '../../src/client/index.js';
import { addAgent, call } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { openStream } from '../helpers/stream.js';

// Debian's nginx (`apt-get install nginx`), running docs/deploy/nginx.conf in front of a hub. `.ci/run` installs it;
// elsewhere the file is skipped when nginx is missing, as the browser tests are without Chromium.
const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const CONFIG = path.resolve(import.meta.dirname, '../../docs/deploy/nginx.conf');
const available = fs.existsSync(NGINX) || process.env.CI === 'true';

// The certificate is self-signed for this test: one handshake below checks it properly against its own CA; the
// flows after it, through fetch and eventsource (which take no CA option), skip verification.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The documented config with this test's ports and certificate, inside a main config that runs unprivileged. */
function writeConfig(dir: string, hubPort: number, httpsPort: number, httpPort: number): string {
  const site = fs
    .readFileSync(CONFIG, 'utf8')
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${hubPort};`)
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`)
    .replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${dir}/cert.pem;`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${dir}/key.pem;`);
  fs.writeFileSync(path.join(dir, 'taskhub.conf'), site);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join('\n  ');
  const main = `${process.getuid?.() === 0 ? 'user root;\n' : ''}pid ${dir}/nginx.pid;
error_log stderr warn;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  ${temp}
  include ${dir}/taskhub.conf;
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), main);
  return path.join(dir, 'nginx.conf');
}

let dir: string;
let hub: TestHub;
let nginx: ChildProcess | undefined;
let base: string;
let redirectPort: number;
let nginxLog = '';

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket.end() !== undefined));
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}:\n${nginxLog}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!available)('behind nginx with docs/deploy/nginx.conf', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-nginx-'));
    const cert = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`,
    ], { encoding: 'utf8' });
    if (cert.status !== 0) throw new Error(`openssl: ${cert.stderr}`);
  }, 60_000);
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // A hub and an nginx in front of it for each test (the suite stops every hub after each test).
  beforeEach(async () => {
    hub = await startTestHub({ TASKHUB_TRUST_PROXY: 'loopback' });
    const httpsPort = await freePort();
    redirectPort = await freePort();
    const conf = writeConfig(dir, Number(new URL(hub.url).port), httpsPort, redirectPort);
    nginxLog = '';
    nginx = spawn(NGINX, ['-p', dir, '-e', 'stderr', '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr!.on('data', (chunk: Buffer) => (nginxLog += chunk.toString()));
    await waitForPort(httpsPort);
    base = `https://127.0.0.1:${httpsPort}`;
  }, 30_000);
  afterEach(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx!.once('exit', resolve));
      nginx.kill('SIGQUIT');
      await exited;
    }
    nginx = undefined;
    await hub.stop();
  });

  it('serves TLS with the configured certificate and redirects plain HTTP to it', async () => {
    const ca = fs.readFileSync(`${dir}/cert.pem`);
    const authorized = await new Promise<boolean>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: Number(new URL(base).port), ca, rejectUnauthorized: true }, () => {
        resolve(socket.authorized);
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(authorized).toBe(true);
    const plain = await fetch(`http://127.0.0.1:${redirectPort}/healthz`, { redirect: 'manual' });
    expect(plain.status).toBe(301);
    expect(plain.headers.get('location')).toBe('https://127.0.0.1/healthz');
    expect((await call({ url: base }, undefined, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
  });

  it('passes the original scheme and host to a hub that trusts the proxy', async () => {
    const doc = await call({ url: base }, undefined, 'GET', '/openapi.json');
    expect(doc.body.servers).toEqual([{ url: base }]);
  });

  it('carries rpc and a worker, and event streams unbuffered with resume', async () => {
    const worker = await addAgent(hub, 'echoer', { capabilities: ['echo'] });
    const watcher = await addAgent(hub, 'watcher');
    const boss = await addAgent(hub, 'boss');
    const sdkWorker = new TaskhubClient({ url: base, token: worker.token }).worker({
      capabilities: { echo: async (payload) => ({ echoed: payload }) },
    });
    const stream = openStream(base, watcher.token);
    try {
      await sdkWorker.ready;
      const caller = new TaskhubClient({ url: base, token: boss.token });
      expect(await caller.rpc({ capability: 'echo', task: 'echo', payload: 'hi', timeoutMs: 10_000 })).toEqual({ echoed: 'hi' });

      // One small frame at a time reaches the reader: a buffering proxy would hold them back.
      await stream.waitFor((e) => e.some((x) => x.type === 'ready'));
      const assign = (task: string) => call({ url: base }, boss.token, 'POST', '/api/tasks', { target: 'watcher', task });
      expect((await assign('first')).status).toBe(201);
      const [first] = (await stream.waitFor((e) => e.some((x) => x.type === 'task.assigned'))).filter((x) => x.type === 'task.assigned');
      stream.close();
      await assign('second');
      await assign('third');
      const resumed = openStream(base, watcher.token, { lastEventId: first!.lastEventId });
      try {
        const missed = await resumed.waitFor((e) => e.filter((x) => x.type === 'task.assigned').length === 2);
        expect(missed.filter((x) => x.type === 'task.assigned').map((x) => x.data.task.task)).toEqual(['second', 'third']);
      } finally {
        resumed.close();
      }
    } finally {
      stream.close();
      await sdkWorker.stop();
    }
  });

  it('passes each line of a batched rpc answer on as the hub writes it', async () => {
    const holder = await addAgent(hub, 'holder', { capabilities: ['hold'] });
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const sdkWorker = new TaskhubClient({ url: base, token: holder.token }).worker({
      capabilities: { hold: async (payload: { wait: boolean }) => (payload.wait && (await held), payload) },
      concurrency: 2,
    });
    try {
      await sdkWorker.ready;
      const caller = new TaskhubClient({ url: base, token: (await addAgent(hub, 'asker')).token });
      // Made in one turn, so both go in one POST /api/tasks/rpcs: the quick call's line must come through the
      // proxy while the slow call still holds the answer open.
      const quick = caller.rpc({ capability: 'hold', task: 'quick', payload: { wait: false }, timeoutMs: 10_000 });
      const slow = caller.rpc({ capability: 'hold', task: 'slow', payload: { wait: true }, timeoutMs: 10_000 });
      expect(await quick).toEqual({ wait: false });
      release();
      expect(await slow).toEqual({ wait: true });
    } finally {
      release();
      await sdkWorker.stop();
    }
  });

  it('lets the hub answer oversized bodies itself, and waits longer than the longest rpc', async () => {
    const big = await call({ url: base }, hub.adminToken, 'POST', '/api/agents', JSON.stringify({ name: 'x', description: 'y'.repeat(1_200_000) }));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    const readTimeout = /proxy_read_timeout\s+(\d+)s;/.exec(fs.readFileSync(CONFIG, 'utf8'));
    expect(Number(readTimeout?.[1])).toBeGreaterThan(300);
  });
});
