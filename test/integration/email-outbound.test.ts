import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TRANSITIONS } from '../../src/domain/task-status.js';
import { addAgent, as, type Client } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { startSmtpSink, type SinkMail, type SmtpSink } from '../helpers/smtp.js';
import { openStream } from '../helpers/stream.js';

const DOMAIN = 'hub.test';
let sink: SmtpSink;
let hub: TestHub;
let boss: Client & { name: string };
let worker: Client & { name: string };

beforeEach(async () => {
  sink = await startSmtpSink();
  hub = await startTestHub({ TASKHUB_SMTP_URL: sink.url, TASKHUB_MAIL_DOMAIN: DOMAIN });
  boss = await addAgent(hub, 'boss', { email: 'boss@example.com' });
  worker = await addAgent(hub, 'worker', { email: 'worker@example.com' });
});
afterEach(async () => {
  await hub.stop();
  await sink.close();
});

const to = (address: string) => (m: SinkMail) => m.envelope.to.includes(address);
const header = (m: SinkMail, name: string) => m.parsed.headers.get(name);
const eventJson = (m: SinkMail) => {
  const part = m.parsed.attachments.find((a) => a.filename === 'event.json');
  expect(part?.contentType).toBe('application/json');
  return JSON.parse(part!.content.toString('utf8'));
};

describe('outbound mail', () => {
  it('mails a task to an offline target with the contract subject, headers, threading, Reply-To and parts', async () => {
    const deadline = new Date(Date.now() + 3_600_000).toISOString();
    const created = await boss.post('/api/tasks', {
      target: 'worker', task: 'Summarise the quarterly report', payload: { pages: [1, 2] }, priority: 'high', deadline,
    });
    const id = created.body.task.id;
    const [mail] = await sink.waitFor((ms) => ms.some(to('worker@example.com')));
    expect(mail!.envelope.to).toEqual(['worker@example.com']);
    expect(mail!.parsed.subject).toBe(`TASK:${id} Summarise the quarterly report`);
    expect(mail!.parsed.from?.value[0]?.address).toBe(`taskhub@${DOMAIN}`);
    expect(header(mail!, 'x-taskhub-event')).toBe('task.assigned');
    expect(header(mail!, 'x-taskhub-task-id')).toBe(id);
    expect(header(mail!, 'x-taskhub-priority')).toBe('high');
    expect(header(mail!, 'x-taskhub-assigner')).toBe('boss');
    expect(header(mail!, 'x-taskhub-deadline')).toBe(deadline);
    expect(mail!.parsed.messageId).toMatch(new RegExp(`^<e\\d+\\.worker\\.[0-9a-f]{12}@${DOMAIN}>$`));
    expect(mail!.parsed.inReplyTo).toBe(`<task.${id}@${DOMAIN}>`);
    expect(mail!.parsed.references).toBe(`<task.${id}@${DOMAIN}>`);
    expect(mail!.parsed.replyTo?.value[0]?.address).toMatch(new RegExp(`^reply\\+${id}\\.[a-z2-7]{21}@${DOMAIN}$`));
    expect(mail!.parsed.text).toContain('Summarise the quarterly report');
    expect(mail!.parsed.text).toContain(`ACK:${id}`);
    const events = (await boss.get(`/api/tasks/${id}/events`)).body.events;
    expect(eventJson(mail!)).toEqual(events[0]);
    expect(header(mail!, 'x-taskhub-event-id')).toBe(String(events[0].id));
  });

  it('uses STATUS, RESULT, ERROR, CANCEL and EXPIRED for the other events, all in the task thread', async () => {
    const one = (await boss.post('/api/tasks', { target: 'worker', task: 'one' })).body.task.id;
    await worker.post(`/api/tasks/${one}/claim`);
    await worker.post(`/api/tasks/${one}/progress`, { message: 'half way', progress: 0.5 });
    await worker.post(`/api/tasks/${one}/complete`, { result: { answer: 42 } });
    const two = (await boss.post('/api/tasks', { target: 'worker', task: 'two' })).body.task.id;
    await worker.post(`/api/tasks/${two}/fail`, { error: 'no data' });
    const three = (await boss.post('/api/tasks', { target: 'worker', task: 'three' })).body.task.id;
    await boss.post(`/api/tasks/${three}/cancel`);
    const four = (await boss.post('/api/tasks', { target: 'worker', task: 'four' })).body.task.id;
    const { taskEvents } = hub.hub;
    await taskEvents.run(async (c) =>
      taskEvents.transition(c, (await c.tx.tasks.get(four))!, TRANSITIONS.expire, { completedAt: Date.now() }));

    const mails = await sink.waitFor((ms) => ms.filter(to('boss@example.com')).length >= 6);
    const toBoss = mails.filter(to('boss@example.com')).map((m) => m.parsed.subject);
    expect(toBoss).toEqual([
      `STATUS:${one}`, `STATUS:${one}`, `RESULT:${one}`, `ERROR:${two}`, `CANCEL:${three}`, `EXPIRED:${four}`,
    ]);
    await sink.waitFor((ms) => ms.some((m) => m.parsed.subject === `CANCEL:${three}` && to('worker@example.com')(m)));
    const thread = mails.filter((m) => header(m, 'x-taskhub-task-id') === one);
    expect(thread.length).toBe(4);
    expect(new Set(thread.map((m) => m.parsed.references))).toEqual(new Set([`<task.${one}@${DOMAIN}>`]));
    expect(new Set(thread.map((m) => m.parsed.messageId)).size).toBe(4);
    const result = mails.find((m) => m.parsed.subject === `RESULT:${one}`)!;
    expect(eventJson(result).task.result).toEqual({ answer: 42 });
    expect(result.parsed.text).toContain('"answer": 42');
    const progress = thread.find((m) => header(m, 'x-taskhub-event') === 'task.progress')!;
    expect(progress.parsed.text).toContain('half way');
    expect(eventJson(progress).progress).toEqual({ message: 'half way', progress: 0.5 });
  });

  it('cuts the task text in the subject at 80 characters', async () => {
    const text = `${'x'.repeat(100)} tail`;
    const id = (await boss.post('/api/tasks', { target: 'worker', task: text })).body.task.id;
    const [mail] = await sink.waitFor((ms) => ms.length === 1);
    const subjectText = mail!.parsed.subject!.slice(`TASK:${id} `.length);
    expect(Array.from(subjectText).length).toBe(80);
    expect(subjectText.endsWith('…')).toBe(true);
    expect(mail!.parsed.text).toContain(text);
  });

  it('does not mail an agent with an open stream, nor one without an email', async () => {
    const stream = openStream(hub.url, worker.token);
    await stream.waitFor((e) => e.some((x) => x.type === 'ready'));
    await addAgent(hub, 'silent');
    await boss.post('/api/tasks', { target: 'worker', task: 'streamed' });
    await boss.post('/api/tasks', { target: 'silent', task: 'nowhere to mail' });
    await addAgent(hub, 'later', { email: 'later@example.com' });
    await boss.post('/api/tasks', { target: 'later', task: 'mailed' });
    // The outbox sends in order: once the last task's mail is here, the earlier ones would have been too.
    await sink.waitFor((ms) => ms.some(to('later@example.com')));
    expect(sink.mails.map((m) => m.envelope.to[0])).toEqual(['later@example.com']);
    await stream.waitFor((e) => e.some((x) => x.type === 'task.assigned'));
    stream.close();
    // The row is marked sent by the sender's write after the server took the mail: poll for it.
    await expect
      .poll(async () => (await as(hub, hub.adminToken).get('/api/stats')).body.outbox)
      .toEqual({ queued: 0, sent: 1, failed: 0 });
  });

  it('lets no CR/LF in task text, payload, message subject, body or names inject a header or a part', async () => {
    const evil = 'Evil\r\nBcc: thief@example.com\r\nX-Injected: yes\n\n--boundary\r\n.\r\nMAIL FROM:<x@y>';
    const id = (await boss.post('/api/tasks', { target: 'worker', task: evil, payload: { note: evil } })).body.task.id;
    // Names and ids are validated where they are made; the mail does not rely on that.
    const message = {
      id: randomUUID(), threadId: `t\r\nX-Injected: yes`, from: 'boss\r\nBcc: thief@example.com', to: 'worker',
      subject: evil, body: evil, inReplyTo: null, createdAt: new Date().toISOString(), readAt: null,
    };
    const { changes } = hub.hub;
    await changes.run((c) =>
      c.emit({ type: 'message', at: Date.now(), taskId: null, recipients: ['worker'], data: JSON.stringify({ message }) }),
    );
    const mails = await sink.waitFor((ms) => ms.length === 2);
    for (const mail of mails) {
      expect(mail.envelope.to).toEqual(['worker@example.com']);
      const headerSection = mail.raw.slice(0, mail.raw.indexOf('\r\n\r\n'));
      expect(headerSection).not.toMatch(/^(bcc|x-injected|mail from)/im);
      expect(mail.parsed.headers.has('bcc')).toBe(false);
      expect(mail.parsed.headers.has('x-injected')).toBe(false);
      expect(mail.parsed.subject).not.toMatch(/[\r\n]/);
      expect(mail.parsed.attachments.map((a) => a.filename)).toEqual(['event.json']);
    }
    const [task, msg] = mails;
    expect(task!.parsed.subject).toBe(`TASK:${id} Evil Bcc: thief@example.com X-Injected: yes --boundary . MAIL FROM:<x@y>`);
    expect(eventJson(task!).task.task).toBe(evil);
    expect(eventJson(task!).task.payload).toEqual({ note: evil });
    expect(task!.parsed.text).toContain('MAIL FROM:<x@y>');
    expect(msg!.parsed.subject).toBe('Evil Bcc: thief@example.com X-Injected: yes --boundary . MAIL FROM:<x@y>');
    expect(msg!.parsed.headers.get('x-taskhub-from')).toBe('boss Bcc: thief@example.com');
    expect(msg!.parsed.headers.get('x-taskhub-thread-id')).toBe('t X-Injected: yes');
    expect(msg!.parsed.references).toBe(`<thread.tX-Injectedyes@${DOMAIN}>`);
    expect(eventJson(msg!).message.body).toBe(evil);
  });

  it('mails a message with its own subject, the message headers and its thread', async () => {
    const message = {
      id: randomUUID(), threadId: randomUUID(), from: 'boss', to: 'worker', subject: 'Lunch?', body: 'At noon?',
      inReplyTo: null, createdAt: new Date().toISOString(), readAt: null,
    };
    const { changes } = hub.hub;
    await changes.run((c) =>
      c.emit({ type: 'message', at: Date.now(), taskId: null, recipients: ['worker'], data: JSON.stringify({ message }) }),
    );
    const [mail] = await sink.waitFor((ms) => ms.length === 1);
    expect(mail!.parsed.subject).toBe('Lunch?');
    expect(header(mail!, 'x-taskhub-event')).toBe('message');
    expect(header(mail!, 'x-taskhub-message-id')).toBe(message.id);
    expect(header(mail!, 'x-taskhub-from')).toBe('boss');
    expect(mail!.parsed.references).toBe(`<thread.${message.threadId}@${DOMAIN}>`);
    expect(mail!.parsed.replyTo?.value[0]?.address).toMatch(new RegExp(`^reply\\+${message.id}\\.[a-z2-7]{21}@`));
    expect(mail!.parsed.text).toContain('At noon?');
    expect(eventJson(mail!).message).toEqual(message);
  });
});
