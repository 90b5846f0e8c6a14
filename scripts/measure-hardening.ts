/**
 * Before/after figures of issue 15 (hardening): runs each attack against a hub started from `--tree` (a checkout of
 * taskhub: this one by default, or an older one to compare) and prints what it cost. Not a benchmark: sizes,
 * status codes and what stayed answerable, one run each.
 *
 *   npx tsx scripts/measure-hardening.ts [--tree DIR] [--only history,depth,idle,mailbox,slips,automatic,secret]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const tree = path.resolve(arg('tree') ?? path.join(import.meta.dirname, '..'));
const only = arg('only')?.split(',');

interface Hub {
  url: string;
  proc: ChildProcess;
  dataDir: string;
  smtpPort: number;
  admin: string;
}

/** Starts `src/main.ts` of the tree as its own process (optionally under `ulimit -n`), learning its URL from the log. */
async function startHub(env: Record<string, string>, fdLimit?: number): Promise<Hub> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-measure-'));
  const command = `${fdLimit ? `ulimit -n ${fdLimit}; ` : ''}exec node --import tsx src/main.ts`;
  const proc = spawn('bash', ['-c', command], {
    cwd: tree,
    env: { ...process.env, PORT: '0', TASKHUB_SMTP_PORT: '0', TASKHUB_DATA_DIR: dataDir, LOG_LEVEL: 'info', TASKHUB_RATE_LIMIT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: proc.stdout! });
  let url = '';
  let smtpPort = 0;
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; url?: string; smtpPort?: number };
    if (entry.smtpPort) smtpPort = entry.smtpPort;
    if (entry.url) {
      url = entry.url;
      break;
    }
  }
  lines.on('line', () => {});
  const admin = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  return { url, proc, dataDir, smtpPort, admin };
}

async function stopHub(hub: Hub): Promise<void> {
  const exited = new Promise((resolve) => hub.proc.once('exit', resolve));
  hub.proc.kill('SIGTERM');
  await exited;
  fs.rmSync(hub.dataDir, { recursive: true, force: true });
}

const peakRssMb = (hub: Hub) => {
  const status = fs.readFileSync(`/proc/${hub.proc.pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024);
};
const cpuSeconds = (hub: Hub) => {
  const fields = fs.readFileSync(`/proc/${hub.proc.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, in clock ticks of 1/100 s (Linux's USER_HZ).
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const dbMb = (hub: Hub) =>
  ['taskhub.db', 'taskhub.db-wal']
    .map((f) => path.join(hub.dataDir, f))
    .filter((f) => fs.existsSync(f))
    .reduce((n, f) => n + fs.statSync(f).size, 0) / 1e6;

async function api(hub: Hub, token: string, method: string, route: string, body?: unknown) {
  const res = await fetch(`${hub.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

async function agent(hub: Hub, name: string, email?: string): Promise<string> {
  return (await api(hub, hub.admin, 'POST', '/api/agents', { name, ...(email && { email }) })).json().token as string;
}

/** Item 2: a 900,000-character payload and 300 progress calls. */
async function history() {
  const hub = await startHub({ TASKHUB_PROGRESS_LIMIT: '0' });
  const w = await agent(hub, 'w');
  const id = (await api(hub, w, 'POST', '/api/tasks', { target: 'w', task: 't', payload: 'x'.repeat(900_000) })).json().task.id;
  await api(hub, w, 'POST', `/api/tasks/${id}/claim`, {});
  for (let i = 0; i < 300; i++) await api(hub, w, 'POST', `/api/tasks/${id}/progress`, { progress: i / 300 });
  const first = await api(hub, w, 'GET', `/api/tasks/${id}/events`);
  let pages = 1;
  let total = first.text.length;
  let next = (first.json() as { nextCursor?: string | null }).nextCursor;
  while (next) {
    const page = await api(hub, w, 'GET', `/api/tasks/${id}/events?cursor=${next}`);
    pages += 1;
    total += page.text.length;
    next = page.json().nextCursor;
  }
  console.log(`history: db ${dbMb(hub).toFixed(1)} MB; first answer ${(first.text.length / 1e6).toFixed(1)} MB; ${pages} page(s), ${(total / 1e6).toFixed(0)} MB in all; peak RSS ${peakRssMb(hub)} MB`);
  await stopHub(hub);
}

/** A real SMTP server that keeps the size of every mail. */
async function smtpSink() {
  const sizes: number[] = [];
  const server = new SMTPServer({ logger: false, disabledCommands: ['AUTH', 'STARTTLS'], size: 10 * 1024 * 1024, onData(stream, _s, done) {
    let size = 0;
    stream.on('data', (c: Buffer) => (size += c.length));
    stream.on('end', () => {
      sizes.push(size);
      done(stream.sizeExceeded ? Object.assign(new Error('552 too big'), { responseCode: 552 }) : null);
    });
  } });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { sizes, port: (server.server.address() as net.AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Item 3: 8 KB of `[[[…]]]` 4,000 deep, then the deepest accepted payload around 150,000 zeros. */
async function depth() {
  const sink = await smtpSink();
  const hub = await startHub({ TASKHUB_SMTP_URL: `smtp://127.0.0.1:${sink.port}` });
  const boss = await agent(hub, 'boss');
  await agent(hub, 'w', 'w@example.com');
  const deep = `{"target":"w","task":"deep","payload":${'['.repeat(4000)}${']'.repeat(4000)}}`;
  const cpu0 = cpuSeconds(hub);
  const res = await api(hub, boss, 'POST', '/api/tasks', deep);
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const stats = (await api(hub, hub.admin, 'GET', '/api/stats')).json().outbox;
  console.log(`depth 4000: POST ${res.status}; mails seen by the server ${JSON.stringify(sink.sizes)} bytes; hub CPU ${(cpuSeconds(hub) - cpu0).toFixed(1)} s in 5 s; outbox ${JSON.stringify(stats)}`);
  let wide: unknown = new Array(150_000).fill(0);
  for (let i = 0; i < 60; i++) wide = [wide];
  sink.sizes.length = 0;
  const res2 = await api(hub, boss, 'POST', '/api/tasks', { target: 'w', task: 'wide', payload: wide });
  await new Promise((resolve) => setTimeout(resolve, 5000));
  console.log(`depth 61 around 150,000 zeros: POST ${res2.status}; mail sizes ${JSON.stringify(sink.sizes)} bytes; outbox ${JSON.stringify((await api(hub, hub.admin, 'GET', '/api/stats')).json().outbox)}`);
  await stopHub(hub);
  await sink.close();
}

/** Item 4: `sockets` connections that send nothing against a hub limited to 1,024 descriptors. */
async function idle(sockets = 1500) {
  const hub = await startHub({ TASKHUB_MAX_CONNECTIONS: '500' }, 1024);
  const port = Number(new URL(hub.url).port);
  const open: net.Socket[] = [];
  for (let i = 0; i < sockets; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    open.push(s);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const times: number[] = [];
  let failed = 0;
  for (let i = 0; i < 50; i++) {
    const start = performance.now();
    try {
      const res = await fetch(`${hub.url}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.text();
      if (res.status === 200) times.push(performance.now() - start);
      else failed += 1;
    } catch {
      failed += 1;
    }
  }
  times.sort((a, b) => a - b);
  const alive = open.filter((s) => !s.destroyed && s.readyState === 'open').length;
  console.log(`idle ${sockets} sockets (ulimit -n 1024): /healthz ok ${times.length}/50, failed ${failed}; p50 ${times[Math.floor(times.length / 2)]?.toFixed(1) ?? '-'} ms, p99 ${times[Math.floor(times.length * 0.99)]?.toFixed(1) ?? '-'} ms; sockets still open after 1 s: ${alive}`);
  for (const s of open) s.destroy();
  await stopHub(hub);
}

/** Item 5: `count` unauthenticated mails of `mb` MB each to the embedded listener, then `GET /api/mailbox`. */
async function mailbox(count = 10, mb = 5) {
  const hub = await startHub({});
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: hub.smtpPort, secure: false, ignoreTLS: true });
  const text = 'y'.repeat(mb * 1_000_000);
  for (let i = 0; i < count; i++) await transport.sendMail({ from: 'x@example.com', to: `box${i}@example.com`, subject: `m${i}`, text });
  transport.close();
  const res = await api(hub, hub.admin, 'GET', '/api/mailbox');
  console.log(`mailbox ${count} × ${mb} MB: GET /api/mailbox ${res.status}, ${(res.text.length / 1e6).toFixed(2)} MB; db ${dbMb(hub).toFixed(0)} MB; peak RSS ${peakRssMb(hub)} MB`);
  await stopHub(hub);
}

/** Item 6: invalid UTF-8, 1e400, a lower-case bearer scheme, and the metrics label of a failed route. */
async function slips() {
  const hub = await startHub({});
  const w = await agent(hub, 'w');
  const utf8 = await fetch(`${hub.url}/api/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${w}`, 'content-type': 'application/json' },
    body: Buffer.concat([Buffer.from('{"target":"w","task":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
  });
  const big = await api(hub, w, 'POST', '/api/tasks', '{"target":"w","task":"t","payload":{"n":1e400}}');
  const lower = await fetch(`${hub.url}/api/tasks`, { headers: { authorization: `bearer ${w}` } });
  await api(hub, w, 'GET', '/api/tasks/00000000-0000-4000-8000-000000000000');
  const metrics = await (await fetch(`${hub.url}/metrics`)).text();
  const label = /route="([^"]+)",status="404"/.exec(metrics)?.[1];
  console.log(`slips: invalid UTF-8 → ${utf8.status}; 1e400 → ${big.status} ${big.status === 201 ? `payload ${JSON.stringify(big.json().task.payload)}` : ''}; "bearer" → ${lower.status}; 404 route label ${label}`);
  await stopHub(hub);
}

/** Item 8: a reply from a mailing list (List-Id) and one with an empty return path. */
async function automatic() {
  const sink = await smtpSink();
  const hub = await startHub({ TASKHUB_SMTP_URL: `smtp://127.0.0.1:${sink.port}` });
  const boss = await agent(hub, 'boss');
  await agent(hub, 'w', 'w@example.com');
  const outcomes: string[] = [];
  for (const variant of ['List-Id', 'MAIL FROM:<>'] as const) {
    const id = (await api(hub, boss, 'POST', '/api/tasks', { target: 'w', task: variant })).json().task.id;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const replyTo = await replyAddressOf(hub, id);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: hub.smtpPort, secure: false, ignoreTLS: true });
    try {
      await transport.sendMail({
        from: 'w@example.com', to: replyTo, subject: `RESULT:${id}`, text: 'done',
        ...(variant === 'List-Id' ? { headers: { 'List-Id': 'team <team.example.com>' } } : { envelope: { from: '', to: replyTo } }),
      });
      outcomes.push(`${variant} → accepted, task ${(await api(hub, boss, 'GET', `/api/tasks/${id}`)).json().task.status}`);
    } catch (error) {
      outcomes.push(`${variant} → ${(error as { responseCode?: number }).responseCode}`);
    } finally {
      transport.close();
    }
  }
  console.log(`automatic mail: ${outcomes.join('; ')}`);
  await stopHub(hub);
  await sink.close();
}

/** The signed reply address the task's mail carries, made with the tree's own code and the hub's secret. */
async function replyAddressOf(hub: Hub, id: string): Promise<string> {
  const { createReplyAddresses } = await import(path.join(tree, 'src/transport/email/reply-address.ts'));
  const secret = fs.readFileSync(path.join(hub.dataDir, 'jwt.secret'), 'utf8').trim();
  return createReplyAddresses(secret, 'localhost').address('task', id, 'w') as string;
}

/** Item 1: a 0-byte jwt.secret in the data dir. */
async function secret() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-measure-'));
  fs.writeFileSync(path.join(dataDir, 'jwt.secret'), '');
  const proc = spawn('node', ['--import', 'tsx', 'src/main.ts'], {
    cwd: tree,
    env: { ...process.env, PORT: '0', TASKHUB_SMTP_PORT: '0', TASKHUB_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c));
  const code = await Promise.race([
    new Promise<number | null>((resolve) => proc.once('exit', resolve)),
    new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 5000)),
  ]);
  if (code === 'running') proc.kill('SIGTERM');
  console.log(`0-byte jwt.secret: ${code === 'running' ? 'hub started (with an empty signing key)' : `exit ${code}: ${stderr.trim()}`}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
}

const runs: Record<string, () => Promise<void>> = { history, depth, idle, mailbox, slips, automatic, secret };
console.log(`tree ${tree}`);
for (const [name, run] of Object.entries(runs)) if (!only || only.includes(name)) await run();
