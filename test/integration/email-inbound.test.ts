import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReplyAddresses } from '../../src/transport/email/reply-address.js';
import { addAgent, as, type Client } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { sendMail, startSmtpSink, type OutgoingMail, type SmtpSink } from '../helpers/smtp.js';

const DOMAIN = 'hub.test';
const WORKER = 'worker@example.com';
let sink: SmtpSink;
let hub: TestHub;
let boss: Client & { name: string };

beforeEach(async () => {
  sink = await startSmtpSink();
  hub = await startTestHub({ TASKHUB_SMTP_URL: sink.url, TASKHUB_MAIL_DOMAIN: DOMAIN });
  boss = await addAgent(hub, 'boss');
  await addAgent(hub, 'worker', { email: WORKER });
});
afterEach(async () => {
  await hub.stop();
  await sink.close();
});

/** Assigns a task to the worker and returns its id and the Reply-To of the mail it got. */
async function assign(text = 'do it'): Promise<{ id: string; replyTo: string }> {
  const id = (await boss.post('/api/tasks', { target: 'worker', task: text })).body.task.id as string;
  const mails = await sink.waitFor((ms) => ms.some((m) => m.parsed.headers.get('x-taskhub-task-id') === id));
  const mail = mails.find((m) => m.parsed.headers.get('x-taskhub-task-id') === id)!;
  return { id, replyTo: mail.parsed.replyTo!.value[0]!.address! };
}

const reply = (fields: Partial<OutgoingMail> & { to: string; subject: string }) =>
  sendMail(hub.smtpPort, { from: WORKER, ...fields });
const task = async (id: string) => (await boss.get(`/api/tasks/${id}`)).body.task;
const eventCount = async (id: string) => (await boss.get(`/api/tasks/${id}/events`)).body.events.length;

/** Expects a refusal with `code` that left the task exactly as it was, history included. */
async function expectRefused(id: string, send: () => ReturnType<typeof sendMail>, code = 550) {
  const before = { task: await task(id), events: await eventCount(id) };
  const outcome = await send();
  expect(outcome.ok).toBe(false);
  if (!outcome.ok) expect(outcome.responseCode).toBe(code);
  expect(await task(id)).toEqual(before.task);
  expect(await eventCount(id)).toBe(before.events);
  return outcome;
}

describe('email replies', () => {
  it('ACK claims, STATUS records progress, RESULT completes with a JSON body as JSON', async () => {
    const { id, replyTo } = await assign();
    expect((await reply({ to: replyTo, subject: `ACK:${id}` })).ok).toBe(true);
    expect((await task(id)).status).toBe('claimed');
    expect((await reply({ to: replyTo, subject: `Re: STATUS:${id}`, text: 'Half way there.\n-- \nWorker' })).ok).toBe(true);
    expect((await task(id)).status).toBe('in_progress');
    const events = (await boss.get(`/api/tasks/${id}/events`)).body.events;
    expect(events.at(-1).progress).toEqual({ message: 'Half way there.', progress: null });
    expect((await reply({ to: replyTo, subject: `RESULT:${id}`, text: '{"rows": 3}\n\nOn Mon, taskhub wrote:\n> x' })).ok).toBe(true);
    expect(await task(id)).toMatchObject({ status: 'completed', result: { rows: 3 } });
  });

  it('a plain reply completes with its text, quoted history and signature stripped', async () => {
    const { id, replyTo } = await assign();
    const text = 'Here is the summary.\nSecond line.\n\nOn Sat, 21 Nov 2026, taskhub <taskhub@hub.test> wrote:\n> TASK\n-- \nW.';
    expect((await reply({ to: replyTo, subject: `Re: TASK:${id} do it`, text })).ok).toBe(true);
    expect(await task(id)).toMatchObject({ status: 'completed', result: 'Here is the summary.\nSecond line.' });
  });

  it('ERROR fails the task with the body as the error', async () => {
    const { id, replyTo } = await assign();
    expect((await reply({ to: replyTo, subject: `ERROR:${id}`, text: 'The source is gone.' })).ok).toBe(true);
    expect(await task(id)).toMatchObject({ status: 'failed', error: 'The source is gone.' });
  });

  it('accepts the sender address in any case', async () => {
    const { id, replyTo } = await assign();
    expect((await reply({ from: 'Worker@Example.COM', to: replyTo.toUpperCase(), subject: `ACK:${id}` })).ok).toBe(true);
    expect((await task(id)).status).toBe('claimed');
  });

  it('refuses a spoofed sender, in the envelope or in the From header', async () => {
    const { id, replyTo } = await assign();
    await expectRefused(id, () => reply({ from: 'mallory@example.com', to: replyTo, subject: `RESULT:${id}`, text: 'x' }));
    await expectRefused(id, () =>
      reply({ from: 'mallory@example.com', envelopeFrom: WORKER, to: replyTo, subject: `RESULT:${id}`, text: 'x' }),
    );
    await expectRefused(id, () =>
      reply({ from: WORKER, envelopeFrom: 'mallory@example.com', to: replyTo, subject: `RESULT:${id}`, text: 'x' }),
    );
  });

  it('refuses a tampered signature, a signature of another id and a reply address on another domain', async () => {
    const { id, replyTo } = await assign();
    const other = await assign('other');
    const [local, domain] = replyTo.split('@') as [string, string];
    const last = local.at(-1) === 'a' ? 'b' : 'a';
    await expectRefused(id, () => reply({ to: `${local.slice(0, -1)}${last}@${domain}`, subject: `ACK:${id}` }));
    const swapped = `reply+${id}.${other.replyTo.split('.')[1]!.split('@')[0]}@${domain}`;
    await expectRefused(id, () => reply({ to: swapped, subject: `ACK:${id}` }));
    await expectRefused(id, () => reply({ to: `${local}@elsewhere.test`, subject: `ACK:${id}` }));
  });

  it('refuses a correctly signed address for an unknown id', async () => {
    const { id } = await assign();
    const secret = fs.readFileSync(path.join(hub.dataDir, 'jwt.secret'), 'utf8').trim();
    const unknown = randomUUID();
    const forged = createReplyAddresses(secret, DOMAIN).address('task', unknown, 'worker');
    const outcome = await expectRefused(id, () => reply({ to: forged, subject: `ACK:${unknown}` }));
    expect(outcome.ok ? '' : outcome.message).toMatch(/not found/);
  });

  it('refuses a transition the status forbids, and a subject naming another task', async () => {
    const { id, replyTo } = await assign();
    const other = await assign('other');
    expect((await reply({ to: replyTo, subject: `ACK:${id}` })).ok).toBe(true);
    await expectRefused(id, () => reply({ to: replyTo, subject: `ACK:${id}` }));
    expect((await reply({ to: replyTo, subject: `RESULT:${id}`, text: 'done' })).ok).toBe(true);
    const outcome = await expectRefused(id, () => reply({ to: replyTo, subject: `ERROR:${id}`, text: 'late' }));
    expect(outcome.ok ? '' : outcome.message).toMatch(/completed/);
    await expectRefused(other.id, () => reply({ to: other.replyTo, subject: `ACK:${id}` }));
  });

  it('refuses the assigner acting as the target through its own reply address', async () => {
    await as(hub, hub.adminToken).patch('/api/agents/boss', { email: 'boss@example.com' });
    const { id, replyTo } = await assign();
    expect((await reply({ to: replyTo, subject: `ACK:${id}` })).ok).toBe(true);
    const mails = await sink.waitFor((ms) => ms.some((m) => m.envelope.to[0] === 'boss@example.com'));
    const bossReplyTo = mails.find((m) => m.envelope.to[0] === 'boss@example.com')!.parsed.replyTo!.value[0]!.address!;
    const outcome = await expectRefused(id, () =>
      sendMail(hub.smtpPort, { from: 'boss@example.com', to: bossReplyTo, subject: `RESULT:${id}` }),
    );
    expect(outcome.ok ? '' : outcome.message).toMatch(/Only the target/);
  });

  it('refuses automatic replies, a second reply address in one mail and mail for other addresses', async () => {
    const { id, replyTo } = await assign();
    const other = await assign('other');
    await expectRefused(id, () =>
      reply({ to: replyTo, subject: `Out of office`, text: 'Away', headers: { 'Auto-Submitted': 'auto-replied' } }),
    );
    // SMTP refuses recipients one by one: the second reply address gets 550, the first one's task is claimed.
    const both = await reply({ to: `${replyTo}, ${other.replyTo}`, subject: 'ACK:' });
    expect(both).toMatchObject({ ok: true, rejected: [other.replyTo] });
    expect((await task(id)).status).toBe('claimed');
    expect((await task(other.id)).status).toBe('assigned');
    const stranger = await reply({ to: 'someone@example.com', subject: 'hello' });
    expect(stranger).toMatchObject({ ok: false, responseCode: 550 });
  });

  it('refuses replies to a message address while no messages part takes them', async () => {
    const { changes } = hub.hub;
    const message = {
      id: randomUUID(), threadId: randomUUID(), from: 'boss', to: 'worker', subject: 'Hi', body: 'Hello',
      inReplyTo: null, createdAt: new Date().toISOString(), readAt: null,
    };
    await changes.run((c) =>
      c.emit({ type: 'message', at: Date.now(), taskId: null, recipients: ['worker'], data: JSON.stringify({ message }) }),
    );
    const [mail] = await sink.waitFor((ms) => ms.length === 1);
    const outcome = await reply({ to: mail!.parsed.replyTo!.value[0]!.address!, subject: 'Re: Hi', text: 'Hello back' });
    expect(outcome).toMatchObject({ ok: false, responseCode: 550 });
  });

  it('refuses mail over the size limit with 552', async () => {
    const { id, replyTo } = await assign();
    const big = 'x'.repeat(10 * 1024 * 1024 + 1);
    await expectRefused(id, () => reply({ to: replyTo, subject: `RESULT:${id}`, text: big }), 552);
  });
});
