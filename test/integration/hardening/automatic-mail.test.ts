import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addAgent, type Client } from '../../helpers/api.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { sendMail, startSmtpSink, type OutgoingMail, type SmtpSink } from '../../helpers/smtp.js';

const WORKER = 'worker@example.com';
let sink: SmtpSink;
let hub: TestHub;
let boss: Client & { name: string };

beforeEach(async () => {
  sink = await startSmtpSink();
  hub = await startTestHub({ TASKHUB_SMTP_URL: sink.url, TASKHUB_MAIL_DOMAIN: 'hub.test' });
  boss = await addAgent(hub, 'boss');
  await addAgent(hub, 'worker', { email: WORKER });
});
afterEach(async () => {
  await hub.stop();
  await sink.close();
});

async function assign(): Promise<{ id: string; replyTo: string }> {
  const id = (await boss.post('/api/tasks', { target: 'worker', task: 'do it' })).body.task.id as string;
  const [mail] = await sink.waitFor((ms) => ms.some((m) => m.parsed.headers.get('x-taskhub-task-id') === id));
  return { id, replyTo: mail!.parsed.replyTo!.value[0]!.address! };
}

/** Sends `mail` to the task's reply address and expects a 550 whose text matches `why`, the task untouched. */
async function expectRefused(mail: Partial<OutgoingMail> & { subject?: string }, why: RegExp) {
  const { id, replyTo } = await assign();
  const before = (await boss.get(`/api/tasks/${id}/events`)).body.events.length;
  const outcome = await sendMail(hub.smtpPort, { from: WORKER, to: replyTo, subject: `RESULT:${id}`, text: 'done', ...mail });
  expect(outcome).toMatchObject({ ok: false, responseCode: 550 });
  expect(outcome.ok ? '' : outcome.message).toMatch(why);
  expect((await boss.get(`/api/tasks/${id}`)).body.task.status).toBe('assigned');
  expect((await boss.get(`/api/tasks/${id}/events`)).body.events.length).toBe(before);
}

describe('automatic mail to a reply address (issue 15, item 8)', () => {
  it('refuses mail from a mailing list (List-Id)', async () => {
    await expectRefused({ headers: { 'List-Id': 'Team <team.lists.example.com>' } }, /mailing list \(List-Id\)/);
  });

  it('refuses a delivery status report (multipart/report)', async () => {
    const { id, replyTo } = await assign();
    const raw = [
      `From: ${WORKER}`,
      `To: ${replyTo}`,
      `Subject: RESULT:${id}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--b',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.com',
      '',
      `Final-Recipient: rfc822; ${replyTo}`,
      'Action: failed',
      'Status: 5.0.0',
      '--b--',
      '',
    ].join('\r\n');
    const outcome = await sendMail(hub.smtpPort, { from: WORKER, to: replyTo, subject: '', raw });
    expect(outcome).toMatchObject({ ok: false, responseCode: 550 });
    expect(outcome.ok ? '' : outcome.message).toMatch(/delivery status report/);
    expect((await boss.get(`/api/tasks/${id}`)).body.task.status).toBe('assigned');
  });

  it('refuses mail with an empty return path (MAIL FROM:<>), as bounces and many autoresponders are sent', async () => {
    await expectRefused({ envelopeFrom: '' }, /empty return path/);
  });

  it.each([
    ['Auto-Submitted', { 'Auto-Submitted': 'auto-replied' }, /Auto-Submitted: auto-replied/],
    ['Precedence', { Precedence: 'bulk' }, /Precedence: bulk/],
    ['X-Autoreply', { 'X-Autoreply': 'yes' }, /X-Autoreply/],
    ['X-Autorespond', { 'X-Autorespond': 'yes' }, /X-Autorespond/],
  ])('still refuses %s, saying why', async (_name, headers, why) => {
    await expectRefused({ headers }, why);
  });
});
