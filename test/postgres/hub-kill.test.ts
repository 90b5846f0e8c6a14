import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../helpers/api.js';
import { addAgentOn, eventIdsOf, on, startHubProcesses, type HubProcess } from '../helpers/hub-processes.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';
import { startSmtpSink, type SinkMail, type SmtpSink } from '../helpers/smtp.js';
import { openStream } from '../helpers/stream.js';

/** How long a claimed outbox row stays hidden: short, so that a dead hub's claim comes back within the test. */
const CLAIM_MS = 2000;
const eventIdOf = (mail: SinkMail) => Number(mail.parsed.headers.get('x-taskhub-event-id'));

async function existingTaskIds(databaseUrl: string, ids: string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM tasks WHERE id = ANY($1)', [ids]);
    return rows.map((r) => r.id).sort();
  } finally {
    await client.end();
  }
}

// Hub A dies with SIGKILL in the middle of everything: a stream, an rpc, writes, and a mail it is sending. Hub B
// shares its database and carries on.
describe('kill -9 of one hub process under load', () => {
  let db: TestDatabase | undefined;
  let stopHubs: (() => Promise<void>) | undefined;
  const sinks: SmtpSink[] = [];
  afterEach(async () => {
    await stopHubs?.();
    await Promise.all(sinks.splice(0).map((s) => s.close()));
    await db?.drop();
  });

  it('loses nothing it answered; its stream, rpc caller and claimed mail all carry on through another hub', async () => {
    db = await createTestDatabase();
    // A's mail server takes each mail and never answers: A is mid-send, holding its claim, when it dies.
    const stuck = await startSmtpSink(0, { hold: true });
    const delivered = await startSmtpSink();
    sinks.push(stuck, delivered);
    const started = await startHubProcesses(db.url, ['hub-a', 'hub-b'], (id) => ({
      TASKHUB_RPC_POLL_MS: '600000',
      TASKHUB_RATE_LIMIT: '0',
      TASKHUB_OUTBOX_CLAIM_MS: String(CLAIM_MS),
      TASKHUB_SMTP_URL: (id === 'hub-a' ? stuck : delivered).url,
    }));
    stopHubs = started.stop;
    const [a, b] = started.hubs as [HubProcess, HubProcess];
    const worker = await addAgentOn(a, 'worker');
    const boss = await addAgentOn(a, 'boss');
    const caller = await addAgentOn(a, 'caller');
    // Nothing here ever streams, so every event for it is mailed.
    await addAgentOn(a, 'mailee', { email: 'mailee@example.com' });

    for (let i = 0; i < 3; i++) {
      expect((await on(a, boss).post('/api/tasks', { target: 'mailee', task: `mail ${i}` })).status).toBe(201);
    }
    const [inFlight] = await stuck.waitFor((m) => m.length >= 1);
    const claimedByA = eventIdOf(inFlight!);

    const stream = openStream(a.url, worker.token);
    // Open before the rpc: a fresh stream delivers only events after its ready frame.
    await stream.waitFor((events) => events.some((e) => e.type === 'ready'), 15_000);
    const rpcBody = { target: 'worker', task: 'answer me', idempotencyKey: 'rpc-1', timeout: 60 };
    const firstCall = call(a, caller.token, 'POST', '/api/tasks/rpc', rpcBody).catch((error: unknown) => error);
    const answered: string[] = [];
    let killed = false;
    const writeTo = async (hub: HubProcess, until: () => boolean) => {
      while (!until()) {
        const res = await on(hub, boss).post('/api/tasks', { target: 'worker', task: `load on ${hub.id}` }).catch(() => undefined);
        if (!res) return; // the hub is gone: what it never answered may or may not exist
        expect(res.status).toBe(201);
        answered.push(res.body.task.id);
      }
    };
    let afterKill = 0;
    try {
      await stream.waitFor((events) => events.some((e) => e.data.task?.task === 'answer me'), 15_000);
      const loadA = [0, 1, 2].map(() => writeTo(a, () => false));
      const loadB = [0, 1].map(() => writeTo(b, () => killed && ++afterKill > 60));
      await expect.poll(() => answered.length, { timeout: 20_000, interval: 10 }).toBeGreaterThan(80);
      a.proc.kill('SIGKILL');
      expect(await a.exited).toMatchObject({ signal: 'SIGKILL' });
      killed = true;
      await Promise.all([...loadA, ...loadB]);
    } finally {
      stream.close();
    }

    // Every request it (or B) answered is there.
    expect(await existingTaskIds(db.url, answered)).toEqual([...answered].sort());

    // Its rpc caller lost the connection, re-sends with the same key to B, and gets the task's answer.
    expect(await firstCall).toBeInstanceOf(Error);
    const resent = call(b, caller.token, 'POST', '/api/tasks/rpc', rpcBody);
    const rpcTask = stream.events().find((e) => e.data.task?.task === 'answer me')!.data.task.id as string;
    // The worker resumes on B where A's stream left off: no gap, no duplicate, exactly the database's list.
    const lastOnA = stream.events().at(-1)!.lastEventId;
    const resumed = openStream(b.url, worker.token, { lastEventId: lastOnA });
    try {
      const expected = await eventIdsOf(db.url, 'worker');
      await resumed.waitFor((events) => events.at(-1)?.lastEventId === String(expected.at(-1)), 15_000);
      const seen = [...stream.events(), ...resumed.events()].map((e) => Number(e.lastEventId));
      expect(seen).toEqual(expected);
      expect((await on(b, worker).post(`/api/tasks/${rpcTask}/complete`, { result: { ok: true } })).status).toBe(200);
      const answer = await resent;
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ taskId: rpcTask, status: 'completed', result: { ok: true } });
    } finally {
      resumed.close();
    }

    // The mail A had claimed (and every other one) reaches the receiver once, sent by B after A's claim ran out.
    const mailed = await eventIdsOf(db.url, 'mailee');
    expect(mailed).toContain(claimedByA);
    await delivered.waitFor((m) => mailed.every((id) => m.some((mail) => eventIdOf(mail) === id)), 15_000);
    await new Promise((resolve) => setTimeout(resolve, CLAIM_MS + 500));
    expect(delivered.mails.map(eventIdOf).sort((x, y) => x - y)).toEqual(mailed);
    expect(new Set(delivered.mails.map((m) => m.parsed.messageId)).size).toBe(mailed.length);
  }, 60_000);
});
