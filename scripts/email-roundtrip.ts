/**
 * Measures, on loopback, the time from assigning a task to an agent that has no stream (only an email address) to
 * that task being completed by the agent's emailed reply:
 *
 *   POST /api/tasks → outbox → SMTP to the agent's mail server → the agent replies "RESULT:<id>" over SMTP to the
 *   hub's listener → task.completed on the assigner's SSE stream.
 *
 * The agent's mail server is a real `smtp-server` that hands every mail to the "agent", which answers at once with
 * nodemailer on a new connection (as a mail client would). Everything is real: SQLite file, HTTP, SSE, SMTP both ways.
 *
 *   npx tsx scripts/email-roundtrip.ts [--runs 30]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventSource } from 'eventsource';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../src/config.js';
import { startTaskhub } from '../src/main.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 30;

const mailedAt = new Map<string, number>();
let hubSmtpPort = 0;

/** The agent: replies to each task mail with a JSON result, from its registered address to the mail's Reply-To. */
async function reply(raw: Buffer): Promise<void> {
  const mail = await simpleParser(raw);
  const taskId = String(mail.headers.get('x-taskhub-task-id'));
  mailedAt.set(taskId, performance.now());
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: hubSmtpPort, secure: false, ignoreTLS: true });
  await transport.sendMail({
    from: 'agent@example.com',
    to: mail.replyTo!.value[0]!.address!,
    subject: `RESULT:${taskId}`,
    text: '{"ok": true}',
  });
  transport.close();
}

const agentMailServer = new SMTPServer({
  logger: false,
  disabledCommands: ['AUTH', 'STARTTLS'],
  disableReverseLookup: true,
  onData(stream, _session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      callback();
      reply(Buffer.concat(chunks)).catch((error: unknown) => console.error('agent reply failed:', error));
    });
  },
});
await new Promise<void>((resolve) => agentMailServer.listen(0, '127.0.0.1', () => resolve()));
const mailPort = (agentMailServer.server.address() as { port: number }).port;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-roundtrip-'));
const hub = await startTaskhub(
  loadConfig({
    PORT: '0',
    TASKHUB_SMTP_PORT: '0',
    TASKHUB_DATA_DIR: dataDir,
    TASKHUB_SMTP_URL: `smtp://127.0.0.1:${mailPort}`,
    TASKHUB_RATE_LIMIT: '0',
    LOG_LEVEL: 'silent',
  }),
  pino({ level: 'silent' }),
);
hubSmtpPort = hub.smtpPort;

const api = async (token: string, method: string, route: string, body?: unknown) => {
  const res = await fetch(`${hub.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return res.json() as Promise<any>;
};
const boss = (await api(hub.adminToken, 'POST', '/api/agents', { name: 'boss' })).token as string;
await api(hub.adminToken, 'POST', '/api/agents', { name: 'agent', email: 'agent@example.com' });

const completedAt = new Map<string, number>();
let wake = () => {};
const stream = new EventSource(`${hub.url}/api/events`, {
  fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as object), authorization: `Bearer ${boss}` } }),
});
stream.addEventListener('task.completed', (event) => {
  completedAt.set(JSON.parse(event.data).taskId, performance.now());
  wake();
});
await new Promise<void>((resolve) => stream.addEventListener('ready', () => resolve(), { once: true }));
const completion = (id: string) =>
  new Promise<number>((resolve) => {
    const check = () => (completedAt.has(id) ? resolve(completedAt.get(id)!) : (wake = check));
    check();
  });

const total: number[] = [];
const toMail: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const start = performance.now();
  const { task } = await api(boss, 'POST', '/api/tasks', { target: 'agent', task: `round trip ${i}` });
  const end = await completion(task.id);
  total.push(end - start);
  toMail.push(mailedAt.get(task.id)! - start);
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(1);
  return `min ${s[0]!.toFixed(1)}  median ${at(0.5)}  p95 ${at(0.95)}  max ${s.at(-1)!.toFixed(1)} ms`;
};
console.log(`email round trip on loopback, ${RUNS} runs (node ${process.version}, ${os.cpus().length} cores)`);
console.log(`  assign → task mail at the agent's server:      ${stats(toMail)}`);
console.log(`  assign → completed by emailed reply (on SSE):  ${stats(total)}`);

stream.close();
await hub.stop();
await new Promise<void>((resolve) => agentMailServer.close(() => resolve()));
fs.rmSync(dataDir, { recursive: true, force: true });
