import { afterEach, describe, expect, it } from 'vitest';
import { TASK_HISTORY_PAGE_CHARS } from '../../../src/hub/tasks.js';
import { addAgent, call } from '../../helpers/api.js';
import { dbOf, startTestHub, type TestHub } from '../../helpers/hub.js';
import { startSmtpSink, type SmtpSink } from '../../helpers/smtp.js';
import { openStream } from '../../helpers/stream.js';

let hub: TestHub;
let sink: SmtpSink | undefined;
afterEach(async () => {
  await hub.stop();
  await sink?.close();
  sink = undefined;
});

/** Every page of a task's history, following nextCursor, with the size of each answer. */
async function readHistory(token: string, id: string, limit?: number) {
  const pages: Array<{ events: any[]; bytes: number }> = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ ...(limit && { limit: String(limit) }), ...(cursor && { cursor }) });
    const res = await fetch(`${hub.url}/api/tasks/${id}/events?${query}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as { events: any[]; nextCursor: string | null };
    pages.push({ events: body.events, bytes: text.length });
    cursor = body.nextCursor;
  } while (cursor !== null);
  return pages;
}

const storedEventChars = (id: string) =>
  dbOf(hub).prepare('SELECT coalesce(sum(length(data)), 0) FROM events WHERE task_id = ?').pluck().get(id) as number;

describe('a task history (issue 15, item 2)', () => {
  it('stores a large payload and result once, while every read still carries the whole task', async () => {
    sink = await startSmtpSink();
    hub = await startTestHub({ TASKHUB_SMTP_URL: sink.url, TASKHUB_PROGRESS_LIMIT: '0' });
    const boss = await addAgent(hub, 'boss', { email: 'boss@example.com' });
    const worker = await addAgent(hub, 'worker');
    const payload = { blob: 'p'.repeat(200_000) };
    const result = ['r'.repeat(100_000)];
    const id = (await boss.post('/api/tasks', { target: 'worker', task: 'big', payload })).body.task.id;
    await worker.post(`/api/tasks/${id}/claim`);
    for (let i = 0; i < 50; i++) expect((await worker.post(`/api/tasks/${id}/progress`, { progress: i / 50 })).status).toBe(200);
    await worker.post(`/api/tasks/${id}/complete`, { result });

    // 53 events of a 200 KB task: about 10.6 MB stored when each copied the task.
    expect(storedEventChars(id)).toBeLessThan(60_000);

    const events = (await readHistory(boss.token, id)).flatMap((p) => p.events);
    expect(events.map((e) => e.type)).toEqual(['task.assigned', 'task.claimed', ...Array(50).fill('task.progress'), 'task.completed']);
    for (const event of events) expect(event.task.payload).toEqual(payload);
    expect(events.at(-1).task.result).toEqual(result);
    expect(events.at(-2).task.result).toBeNull();
    expect(Object.keys(events[0].task)).toEqual(Object.keys((await boss.get(`/api/tasks/${id}`)).body.task));
    expect(JSON.stringify(events)).not.toContain('$taskRefs');

    // Replay after Last-Event-ID reads the stored rows too.
    const stream = openStream(hub.url, boss.token, { lastEventId: '0' });
    try {
      await stream.waitFor((all) => all.some((e) => e.type === 'task.completed'));
      const replayed = stream.events().filter((e) => e.data.taskId === id);
      expect(replayed.every((e) => e.data.task.payload.blob === payload.blob)).toBe(true);
      expect(replayed.at(-1)!.data.task.result).toEqual(result);
    } finally {
      stream.close();
    }
    // So do the outbox's mails (sent while the boss had no stream).
    const mails = await sink.waitFor((ms) => ms.some((m) => m.parsed.subject === `RESULT:${id}`));
    const done = mails.find((m) => m.parsed.subject === `RESULT:${id}`)!;
    const json = JSON.parse(done.parsed.attachments.find((a) => a.filename === 'event.json')!.content.toString('utf8'));
    expect(json.task).toMatchObject({ payload, result });
  });

  it('pages the history by limit and cursor, and keeps each page under its size bound', async () => {
    hub = await startTestHub({ TASKHUB_PROGRESS_LIMIT: '0' });
    const worker = await addAgent(hub, 'worker');
    const id = (await worker.post('/api/tasks', { target: 'worker', task: 't' })).body.task.id;
    await worker.post(`/api/tasks/${id}/claim`);
    for (let i = 0; i < 23; i++) await worker.post(`/api/tasks/${id}/progress`, { message: `step ${i}` });
    const pages = await readHistory(worker.token, id, 10);
    expect(pages.map((p) => p.events.length)).toEqual([10, 10, 5]);
    const ids = pages.flatMap((p) => p.events.map((e) => e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(25);
    expect((await worker.get(`/api/tasks/${id}/events?limit=0`)).status).toBe(400);
    expect((await worker.get(`/api/tasks/${id}/events?cursor=x`)).status).toBe(400);
    const stranger = await addAgent(hub, 'stranger');
    expect((await stranger.get(`/api/tasks/${id}/events`)).status).toBe(404);

    // A 900,000-character payload: every event carries it, so a page holds only what fits the bound.
    const big = (await worker.post('/api/tasks', { target: 'worker', task: 'big', payload: 'x'.repeat(900_000) })).body.task.id;
    await worker.post(`/api/tasks/${big}/claim`);
    for (let i = 0; i < 8; i++) expect((await worker.post(`/api/tasks/${big}/progress`, {})).status).toBe(200);
    const bigPages = await readHistory(worker.token, big);
    expect(bigPages.flatMap((p) => p.events)).toHaveLength(10);
    for (const page of bigPages) expect(page.bytes).toBeLessThan(TASK_HISTORY_PAGE_CHARS + 1_000_000);
    expect(storedEventChars(big)).toBeLessThan(20_000);
  });

  it(`bounds progress reports per task and minute (TASKHUB_PROGRESS_LIMIT) with 429 and Retry-After`, async () => {
    hub = await startTestHub({ TASKHUB_PROGRESS_LIMIT: '5' });
    const worker = await addAgent(hub, 'worker');
    const id = (await worker.post('/api/tasks', { target: 'worker', task: 't' })).body.task.id;
    await worker.post(`/api/tasks/${id}/claim`);
    for (let i = 0; i < 5; i++) expect((await worker.post(`/api/tasks/${id}/progress`, { progress: i / 5 })).status).toBe(200);
    const before = (await worker.get(`/api/tasks/${id}/events`)).body.events.length;
    const refused = await worker.post(`/api/tasks/${id}/progress`, { progress: 1 });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await worker.get(`/api/tasks/${id}/events`)).body.events.length).toBe(before);
    // Another task has its own budget, and finishing is never limited.
    const other = (await worker.post('/api/tasks', { target: 'worker', task: 'u' })).body.task.id;
    await worker.post(`/api/tasks/${other}/claim`);
    expect((await worker.post(`/api/tasks/${other}/progress`, {})).status).toBe(200);
    expect((await worker.post(`/api/tasks/${id}/complete`, {})).status).toBe(200);
    // Refusals from a stranger are 404s that spend nothing.
    const stranger = await addAgent(hub, 'stranger');
    expect((await stranger.post(`/api/tasks/${other}/progress`, {})).status).toBe(404);
    expect((await call(hub, hub.adminToken, 'GET', `/api/tasks/${other}/events`)).body.events).toHaveLength(3);
  });
});
