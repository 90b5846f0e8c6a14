/**
 * The email path: a task for an agent with no stream (only an email address) → the hub's outbox mails it to the
 * agent's mail server (a real smtp-server here) → the "agent" replies `RESULT:<id>` with nodemailer on a new
 * connection to the hub's SMTP listener → `task.completed` on the assigner's stream. Sequential, one at a time.
 * The baseline is the same SMTP hop with no hub: nodemailer on a new connection to a bare smtp-server.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { summarize, type Latency } from '../stats.js';
import { createJsonClient, openSse } from './http.js';
import { createAgents } from './setup.js';

export interface EmailParams {
  url: string;
  adminToken: string;
  tasks: number;
  /** Port the hub mails to (its TASKHUB_SMTP_URL): this process's agent mail server listens there. */
  mailPort: number;
  /** The hub's own SMTP listener, where replies go. */
  hubSmtpPort: number;
}

export interface EmailResult extends Latency {
  /** One mail from nodemailer (new connection) to a bare smtp-server, sent → received: the SMTP hop alone. */
  smtpHop: Latency;
}

/** Longest one task may take to come back completed before the run fails (ms). */
const TASK_LIMIT_MS = 30_000;
const AGENT_EMAIL = 'agent@example.com';

/** An smtp-server that hands each whole mail to `onMail`. */
async function mailServer(port: number, onMail: (raw: Buffer) => void): Promise<SMTPServer> {
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    // The hub keeps a pooled connection open to the agent's server: do not wait out the default 30 s on close.
    closeTimeout: 100,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        callback();
        onMail(Buffer.concat(chunks));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return server;
}

const send = async (port: number, mail: nodemailer.SendMailOptions) => {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail(mail);
  } finally {
    transport.close();
  }
};

async function smtpHop(count: number): Promise<Latency> {
  let received = () => {};
  const sink = await mailServer(0, () => received());
  const port = (sink.server.address() as AddressInfo).port;
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const arrived = new Promise<void>((resolve) => (received = resolve));
      const started = performance.now();
      await send(port, { from: AGENT_EMAIL, to: 'sink@example.com', subject: `hop ${i}`, text: '{"ok": true}' });
      await arrived;
      samples.push(performance.now() - started);
    }
  } finally {
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
  return summarize(samples);
}

export async function email(p: EmailParams): Promise<EmailResult> {
  const hop = await smtpHop(Math.min(p.tasks, 20));
  const client = createJsonClient(p.url, 4);
  const tokens = await createAgents(client, p.adminToken, ['boss']);
  await client.postOk('/api/agents', p.adminToken, { name: 'agent', email: AGENT_EMAIL });
  // The agent: answers each task mail at once, from its registered address to the mail's Reply-To.
  const agent = await mailServer(p.mailPort, (raw) => {
    simpleParser(raw)
      .then((mail) => {
        const taskId = String(mail.headers.get('x-taskhub-task-id'));
        const to = mail.replyTo?.value[0]?.address;
        if (!to) throw new Error(`task mail ${taskId} has no Reply-To`);
        return send(p.hubSmtpPort, { from: AGENT_EMAIL, to, subject: `RESULT:${taskId}`, text: '{"ok": true}' });
      })
      .catch((error: unknown) => process.stderr.write(`email agent: ${String(error)}\n`));
  });
  const completed = new Map<string, () => void>();
  const stream = openSse(`${p.url}/api/events`, tokens.get('boss'), (event) => {
    if (event.type === 'task.completed') completed.get((JSON.parse(event.data) as { taskId: string }).taskId)?.();
  });
  const samples: number[] = [];
  try {
    await stream.opened;
    for (let i = 0; i < p.tasks; i++) {
      const started = performance.now();
      let done = () => {};
      let cut: NodeJS.Timeout | undefined;
      const finished = new Promise<void>((resolve, reject) => {
        done = resolve;
        cut = setTimeout(() => reject(new Error(`task ${i} not completed by mail in ${TASK_LIMIT_MS} ms`)), TASK_LIMIT_MS);
      });
      const { task } = await client.postOk('/api/tasks', tokens.get('boss'), { target: 'agent', task: `email ${i}` });
      completed.set(task.id, done);
      try {
        await finished;
      } finally {
        clearTimeout(cut);
      }
      samples.push(performance.now() - started);
    }
  } finally {
    stream.close();
    client.close();
    await new Promise<void>((resolve) => agent.close(() => resolve()));
  }
  return { ...summarize(samples), smtpHop: hop };
}
