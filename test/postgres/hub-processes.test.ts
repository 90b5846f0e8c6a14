import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/api.js';
import { addAgentOn, eventIdsOf, on, startHubProcesses, type HubProcess } from '../helpers/hub-processes.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';
import { openStream, type ReceivedEvent } from '../helpers/stream.js';

// Three real hub processes on one database: each its own pool, LISTEN feed, streams and rpc waiters. rpc polling
// is set to 10 minutes, so only the cross-hub path (NOTIFY, then a read of the new rows) can answer within a test.
const ENV = { TASKHUB_RPC_POLL_MS: '600000', TASKHUB_RATE_LIMIT: '0' };

describe('three hub processes on one PostgreSQL database', () => {
  let db: TestDatabase | undefined;
  let stopHubs: (() => Promise<void>) | undefined;
  let three: [HubProcess, HubProcess, HubProcess];
  // Started once for the file (a process takes seconds to start on 2 shared cores); each test has agents of its own.
  beforeAll(async () => {
    db = await createTestDatabase();
    const started = await startHubProcesses(db.url, ['hub-a', 'hub-b', 'hub-c'], ENV);
    stopHubs = started.stop;
    three = started.hubs as [HubProcess, HubProcess, HubProcess];
  }, 60_000);
  afterAll(async () => {
    await stopHubs?.();
    await db?.drop();
  });
  const startThree = async () => three;

  it('streams to an agent on hub A the tasks created on B and C, answers an rpc on B completed through C at once', async () => {
    const [a, b, c] = await startThree();
    const worker = await addAgentOn(a, 'worker');
    const boss = await addAgentOn(b, 'boss');
    const stream = openStream(a.url, worker.token);
    try {
      await stream.waitFor((events) => events.some((e) => e.type === 'ready'));
      for (const [i, hub] of [b, c, b, c].entries()) {
        expect((await on(hub, boss).post('/api/tasks', { target: 'worker', task: `t${i}` })).status).toBe(201);
      }
      await stream.waitFor((events) => events.filter((e) => e.type === 'task.assigned').length === 4);
      expect(stream.events().map((e) => e.data.task.task)).toEqual(['t0', 't1', 't2', 't3']);

      const rpc = call(b, boss.token, 'POST', '/api/tasks/rpc', { target: 'worker', task: 'add', timeout: 60 });
      const offered = await stream.waitFor((events) => events.some((e) => e.data.task?.task === 'add'));
      const taskId = offered.find((e) => e.data.task?.task === 'add')!.data.task.id as string;
      const started = performance.now();
      expect((await on(c, worker).post(`/api/tasks/${taskId}/complete`, { result: { sum: 3 } })).status).toBe(200);
      const answer = await rpc;
      const waitedMs = performance.now() - started;
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ taskId, status: 'completed', result: { sum: 3 } });
      // Far below the 10-minute poll; generous for 2 shared cores, which is not a benchmark (see npm run bench).
      expect(waitedMs).toBeLessThan(2000);
    } finally {
      stream.close();
    }
  });

  it('counts connected, streams and the stream limit over the three processes', async () => {
    const [a, b, c] = await startThree();
    const agent = await addAgentOn(a, 'streamer');
    const admin = (hub: HubProcess) => on(hub, { token: hub.adminToken() });
    const streams = [a, a, b, b, c].map((hub) => openStream(hub.url, agent.token));
    try {
      for (const s of streams) await s.waitFor((events) => events.some((e) => e.type === 'ready'));
      for (const hub of [a, b, c]) {
        expect((await admin(hub).get('/api/agents/streamer')).body.agent).toMatchObject({ connected: true, streams: 5 });
        expect((await admin(hub).get('/api/stats')).body.hubs).toEqual({ live: 3 });
      }
      // TASKHUB_MAX_STREAMS (5) holds for the agent over every hub: a sixth is refused wherever it asks.
      for (const hub of [a, b, c]) {
        const refused = await fetch(`${hub.url}/api/events`, { headers: { authorization: `Bearer ${agent.token}` } });
        expect(refused.status).toBe(429);
        expect((await refused.json()).error.code).toBe('too_many_streams');
      }
      streams[0]!.close();
      await expect.poll(async () => (await admin(c).get('/api/agents/streamer')).body.agent.streams).toBe(4);
      const again = openStream(c.url, agent.token);
      streams.push(again);
      await again.waitFor((events) => events.some((e) => e.type === 'ready'));
    } finally {
      for (const s of streams) s.close();
    }
    await expect.poll(async () => (await admin(b).get('/api/agents/streamer')).body.agent, { timeout: 10_000 }).toMatchObject({ connected: false, streams: 0 });
  });

  it('gives a client that reconnects round-robin with Last-Event-ID every event once, in order, while all three write', async () => {
    const hubs = await startThree();
    const reader = await addAgentOn(hubs[0], 'reader');
    const writers = await Promise.all(hubs.map((hub, i) => addAgentOn(hub, `writer-${i}`)));
    // 3,000 events: each batch waits for the event-id lock and an fsync, so this is seconds, not a benchmark.
    const PER_WRITER = 1000;
    const IN_FLIGHT = 6;
    let writing = true;
    const write = async (hub: HubProcess, writer: { token: string }, w: number) => {
      const client = on(hub, writer);
      let next = 0;
      const lane = async () => {
        for (let n = next++; n < PER_WRITER; n = next++) {
          const res = await client.post('/api/tasks', { target: 'reader', task: `w${w}-${n}` });
          if (res.status !== 201) throw new Error(`writer ${w}: ${res.status} ${JSON.stringify(res.body)}`);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    };
    const writing3 = Promise.all(hubs.map((hub, w) => write(hub, writers[w]!, w))).finally(() => (writing = false));

    // The reader: a short visit to each hub in turn, resuming from the last id it saw.
    const seen: ReceivedEvent[] = [];
    let lastId = '0';
    let visits = 0;
    let visitsWhileWriting = 0;
    const expected = async () => (writing ? undefined : eventIdsOf(db!.url, 'reader'));
    let all: number[] | undefined;
    while (!all || seen.length < all.length) {
      const hub = hubs[visits++ % hubs.length]!;
      if (writing) visitsWhileWriting++;
      const stream = openStream(hub.url, reader.token, { lastEventId: lastId });
      try {
        await stream.waitFor((events) => events.some((e) => e.type === 'ready'));
        const before = stream.events().length;
        // Leave after a few hundred events (or a short while): mid-replay or mid-live, wherever that falls.
        await stream.waitFor((events) => events.length - 1 - before >= 150, 300).catch(() => {});
      } finally {
        stream.close();
      }
      const got = stream.events();
      seen.push(...got);
      if (got.length > 0) lastId = got.at(-1)!.lastEventId;
      all ??= await expected();
      if (visits > 500) throw new Error(`no end after ${visits} visits: ${seen.length} of ${all?.length} events`);
    }
    await writing3;

    expect(all).toHaveLength(3 * PER_WRITER);
    expect(seen.map((e) => Number(e.lastEventId))).toEqual(all);
    expect(seen.every((e) => e.type === 'task.assigned')).toBe(true);
    // Each writer's tasks in the order it created them (one lane's order within a writer is its own).
    expect(new Set(seen.map((e) => e.data.task.task)).size).toBe(3 * PER_WRITER);
    // The reconnects really did cross hubs while all three were writing.
    expect(visitsWhileWriting).toBeGreaterThan(6);
  }, 60_000);
});
