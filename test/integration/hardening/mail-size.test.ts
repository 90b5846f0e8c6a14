import { afterEach, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../../src/domain/json-limits.js';
import { MAIL_JSON_MAX_BYTES } from '../../../src/transport/email/compose.js';
import { addAgent, as } from '../../helpers/api.js';
import { dbOf, startTestHub, type TestHub } from '../../helpers/hub.js';
import { startSmtpSink, type SinkMail, type SmtpSink } from '../../helpers/smtp.js';

let hub: TestHub;
let sink: SmtpSink;
afterEach(async () => {
  await hub.stop();
  await sink.close();
});

const eventJson = (m: SinkMail) =>
  JSON.parse(m.parsed.attachments.find((a) => a.filename === 'event.json')!.content.toString('utf8'));

/** A payload as deep as the body limit allows, around a long flat array: the worst case for pretty-printing. */
function deepWidePayload(): unknown {
  let value: unknown = new Array(150_000).fill(0);
  for (let i = 0; i < MAX_JSON_DEPTH - 3; i++) value = [value];
  return value;
}

describe('outbound mail size (issue 15, item 3)', () => {
  it('keeps a deep and wide payload to a mail of bounded size, the text part cut and saying so', async () => {
    sink = await startSmtpSink();
    hub = await startTestHub({ TASKHUB_SMTP_URL: sink.url });
    const boss = await addAgent(hub, 'boss');
    await addAgent(hub, 'worker', { email: 'worker@example.com' });
    const payload = deepWidePayload();
    expect((await boss.post('/api/tasks', { target: 'worker', task: 'deep', payload })).status).toBe(201);
    const [mail] = await sink.waitFor((ms) => ms.length === 1);
    // Pretty-printed, this payload alone is about 18 MB (each of 150,000 zeros indented 2 × 62 spaces).
    expect(mail!.raw.length).toBeLessThan(2 * MAIL_JSON_MAX_BYTES);
    expect(mail!.parsed.text).toContain('(cut; the whole value is in event.json or through the API)');
    expect(eventJson(mail!).task.payload).toEqual(payload);
  });

  it('summarises an event.json over the limit and says so', async () => {
    sink = await startSmtpSink();
    hub = await startTestHub({ TASKHUB_SMTP_URL: sink.url });
    const boss = await addAgent(hub, 'boss', { email: 'boss@example.com' });
    const worker = await addAgent(hub, 'worker');
    // 0.6 MB of payload and 0.6 MB of result: each body is under the 1 MiB limit, the completion event is not.
    const big = 'x'.repeat(600_000);
    const id = (await boss.post('/api/tasks', { target: 'worker', task: 'big', payload: big })).body.task.id;
    expect((await worker.post(`/api/tasks/${id}/complete`, { result: big })).status).toBe(200);
    const [mail] = await sink.waitFor((ms) => ms.length === 1);
    expect(mail!.raw.length).toBeLessThan(2 * MAIL_JSON_MAX_BYTES);
    const json = eventJson(mail!);
    expect(json).toMatchObject({ type: 'task.completed', truncated: true, task: { id, status: 'completed' } });
    expect(json.task.payload).toBeUndefined();
    expect(json.note).toMatch(/left out/);
    expect(mail!.parsed.text).toContain('(cut; the whole value is in event.json or through the API)');
  });

  it('marks a mail failed at the first permanent refusal (5xx) instead of retrying it for a day', async () => {
    sink = await startSmtpSink(0, { refuseOverBytes: 4000 });
    hub = await startTestHub({ TASKHUB_SMTP_URL: sink.url });
    const boss = await addAgent(hub, 'boss');
    await addAgent(hub, 'worker', { email: 'worker@example.com' });
    await boss.post('/api/tasks', { target: 'worker', task: 'too big for this server', payload: 'x'.repeat(10_000) });
    const admin = as(hub, hub.adminToken);
    await expect.poll(async () => (await admin.get('/api/stats')).body.outbox, { timeout: 10_000 }).toEqual({ queued: 0, sent: 0, failed: 1 });
    expect(sink.refused).toHaveLength(1);
    const row = dbOf(hub).prepare('SELECT attempts, last_error AS lastError FROM outbox').get() as { attempts: number; lastError: string };
    expect(row).toMatchObject({ attempts: 1 });
    expect(row.lastError).toMatch(/552/);
  });
});
