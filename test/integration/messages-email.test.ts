import { afterEach, describe, expect, it } from 'vitest';
import { addAgent, type Client } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { startSmtpSink, sendMail, type SinkMail, type SmtpSink } from '../helpers/smtp.js';
import { openStream } from '../helpers/stream.js';

// Messages over real SMTP: the hub mails an offline recipient through an outside server (the sink), and the
// agent answers by mail to the hub's embedded listener.
let hub: TestHub | undefined;
let sink: SmtpSink | undefined;
afterEach(async () => {
  await hub?.stop();
  await sink?.close();
  hub = undefined;
  sink = undefined;
});

async function setUp(env: Record<string, string> = {}) {
  sink = await startSmtpSink();
  hub = await startTestHub({ TASKHUB_SMTP_URL: sink.url, ...env });
  const alice = await addAgent(hub, 'alice', { email: 'alice@example.com' });
  const bob = await addAgent(hub, 'bob', { email: 'bob@example.com' });
  return { hub, sink, alice, bob };
}

const header = (mail: SinkMail, name: string) => String(mail.parsed.headers.get(name) ?? '');
const replyToOf = (mail: SinkMail) => mail.parsed.replyTo!.value[0]!.address!;
const mailFor = (s: SmtpSink, messageId: string) =>
  s.waitFor((mails) => mails.some((m) => header(m, 'x-taskhub-message-id') === messageId)).then(
    (mails) => mails.find((m) => header(m, 'x-taskhub-message-id') === messageId)!,
  );
const send = async (from: Client, to: unknown, subject: string, body: string, inReplyTo?: string) => {
  const res = await from.post('/api/messages', { to, subject, body, ...(inReplyTo && { inReplyTo }) });
  expect(res.status).toBe(201);
  return res.body.messages[0];
};

describe('messages by email', () => {
  it('mails an offline recipient a structured message: own subject, message id, thread headers, signed Reply-To', async () => {
    const { sink, alice } = await setUp();
    const message = await send(alice, 'bob', 'Quarterly numbers', 'Can you check the totals?');
    const mail = await mailFor(sink, message.id);
    expect(mail.envelope.to).toEqual(['bob@example.com']);
    expect(mail.parsed.subject).toBe('Quarterly numbers');
    expect(header(mail, 'x-taskhub-event')).toBe('message');
    expect(header(mail, 'x-taskhub-thread-id')).toBe(message.threadId);
    expect(replyToOf(mail)).toMatch(new RegExp(`^reply\\+${message.id}\\.[a-z2-7]{21}@localhost$`));
    expect(mail.parsed.inReplyTo).toBe(`<thread.${message.threadId}@localhost>`);
    expect(mail.parsed.text).toContain('Can you check the totals?');
    const json = mail.parsed.attachments.find((a) => a.filename === 'event.json')!;
    expect(JSON.parse(json.content.toString())).toMatchObject({ type: 'message', messageId: message.id, message });
  });

  it('turns an emailed reply into a message in the same thread, and threads HTTP and email together', async () => {
    const { hub, sink, alice, bob } = await setUp();
    const aliceStream = openStream(hub.url, alice.token);
    await aliceStream.waitFor((e) => e.some((x) => x.type === 'ready'));
    const original = await send(alice, 'bob', 'Quarterly numbers', 'Can you check the totals?');
    const mail = await mailFor(sink, original.id);

    const sent = await sendMail(hub.smtpPort, {
      from: 'bob@example.com',
      to: replyToOf(mail),
      subject: 'Re: Quarterly numbers',
      text: 'They add up.\n\nOn Mon, 1 Jan 2026, taskhub wrote:\n> Can you check the totals?\n',
    });
    expect(sent).toMatchObject({ ok: true });

    const inbox = (await alice.get('/api/inbox')).body.messages;
    expect(inbox).toHaveLength(1);
    const reply = inbox[0];
    expect(reply).toMatchObject({
      from: 'bob',
      to: 'alice',
      subject: 'Re: Quarterly numbers',
      body: 'They add up.',
      threadId: original.threadId,
      inReplyTo: original.id,
    });
    const [event] = (await aliceStream.waitFor((e) => e.some((x) => x.type === 'message'))).filter((x) => x.type === 'message');
    expect(event!.data.message).toEqual(reply);
    aliceStream.close();

    // alice answers over HTTP; bob, still offline, gets it by mail in the same mail thread.
    const answer = await send(alice, 'bob', 'Re: Quarterly numbers', 'Thanks!', reply.id);
    const second = await mailFor(sink, answer.id);
    expect(second.parsed.inReplyTo).toBe(mail.parsed.inReplyTo);
    expect(header(second, 'x-taskhub-thread-id')).toBe(original.threadId);

    const thread = await bob.get(`/api/threads/${original.threadId}`);
    expect(thread.body.messages.map((m: any) => `${m.from}>${m.to}: ${m.body}`)).toEqual([
      'alice>bob: Can you check the totals?',
      'bob>alice: They add up.',
      'alice>bob: Thanks!',
    ]);
  });

  it('gives an empty reply subject the original one with "Re:"', async () => {
    const { hub, sink, alice } = await setUp();
    const original = await send(alice, 'bob', 'Ping', 'there?');
    const mail = await mailFor(sink, original.id);
    expect(await sendMail(hub.smtpPort, { from: 'bob@example.com', to: replyToOf(mail), subject: '', text: 'here' })).toMatchObject({ ok: true });
    expect((await alice.get('/api/inbox')).body.messages[0]).toMatchObject({ subject: 'Re: Ping', body: 'here' });
  });

  it('refuses a reply from another address with 550 and stores nothing', async () => {
    const { hub, sink, alice } = await setUp();
    const original = await send(alice, 'bob', 'Ping', 'there?');
    const mail = await mailFor(sink, original.id);
    const refused = await sendMail(hub.smtpPort, { from: 'mallory@example.com', to: replyToOf(mail), subject: 'Re: Ping', text: 'hi' });
    expect(refused).toMatchObject({ ok: false, responseCode: 550 });
    expect((await alice.get('/api/inbox')).body.messages).toEqual([]);
  });

  it('answers an emailed reply over the rate limit with 451 (retry later) and stores nothing', async () => {
    const { hub, sink, alice, bob } = await setUp({ TASKHUB_RATE_LIMIT: '1' });
    const original = await send(alice, 'bob', 'Ping', 'there?');
    const mail = await mailFor(sink, original.id);
    await send(bob, 'alice', 'spending my one send', '');
    const refused = await sendMail(hub.smtpPort, { from: 'bob@example.com', to: replyToOf(mail), subject: 'Re: Ping', text: 'here' });
    expect(refused).toMatchObject({ ok: false, responseCode: 451 });
    expect((await alice.get('/api/inbox')).body.messages.map((m: any) => m.subject)).toEqual(['spending my one send']);
  });
});
