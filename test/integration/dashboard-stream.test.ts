import { afterEach, describe, expect, it } from 'vitest';
import { createLiveStream, type SseFrame, type StreamState } from '../../src/dashboard/sse.js';
import { addAgent, as } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

/** The dashboard's fetch-based stream client, run in Node against a real hub. */
function follow(url: string, token: string, options: { backoffMs?: number } = {}) {
  const frames: SseFrame[] = [];
  const states: StreamState[] = [];
  let unauthorized = 0;
  const stream = createLiveStream({
    url: `${url}/api/events`,
    token: () => token,
    onFrame: (f) => frames.push(f),
    onState: (s) => states.push(s),
    onUnauthorized: () => (unauthorized += 1),
    backoffMs: options.backoffMs ?? 50,
    maxBackoffMs: 500,
  });
  const until = async (predicate: () => boolean, what: string) => {
    const deadline = Date.now() + 15_000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { stream, frames, states, until, unauthorized: () => unauthorized };
}

const ids = (frames: SseFrame[]) => frames.filter((f) => f.event.startsWith('task.')).map((f) => Number(f.lastEventId));

let hubs: TestHub[] = [];
let streams: { stop(): void }[] = [];
afterEach(async () => {
  for (const s of streams) s.stop();
  for (const h of hubs) await h.stop();
  streams = [];
  hubs = [];
});

describe('dashboard event stream client', () => {
  it('resumes after the hub restarts with Last-Event-ID: every event once, in order', async () => {
    const first = await startTestHub();
    hubs.push(first);
    await addAgent(first, 'w');
    const admin = as(first, first.adminToken);
    const live = follow(first.url, first.adminToken, { backoffMs: 300 });
    streams.push(live.stream);
    live.stream.start();
    await live.until(() => live.frames.some((f) => f.event === 'ready'), 'ready');
    for (let i = 0; i < 3; i++) await admin.post('/api/tasks', { target: 'w', task: `before ${i}` });
    await live.until(() => ids(live.frames).length === 3, 'three events');

    const port = new URL(first.url).port;
    await first.stop({ keepData: true });
    hubs = [];
    const second = await startTestHub({ PORT: port }, first.dataDir);
    hubs.push(second);
    // Created at once, before the client's reconnect timer can fire: they reach it as a replay.
    const actor = { name: 'admin', role: 'admin' } as const;
    for (let i = 0; i < 3; i++) second.hub.tasks.create(actor, { target: 'w', task: `while away ${i}` });
    await live.until(() => ids(live.frames).length === 6, 'six events');

    expect(ids(live.frames)).toEqual([1, 2, 3, 4, 5, 6]);
    const readies = live.frames.filter((f) => f.event === 'ready').map((f) => JSON.parse(f.data).lastEventId);
    expect(readies).toEqual([0, 3]);
    expect(live.states).toContain('reconnecting');
  }, 60_000);

  it('starting from an id replays what came after it; a pruned id yields reset', async () => {
    const hub = await startTestHub();
    hubs.push(hub);
    await addAgent(hub, 'w');
    const admin = as(hub, hub.adminToken);
    for (let i = 0; i < 4; i++) await admin.post('/api/tasks', { target: 'w', task: `t${i}` });
    const resumed = follow(hub.url, hub.adminToken);
    streams.push(resumed.stream);
    resumed.stream.start('3');
    await resumed.until(() => ids(resumed.frames).length === 1, 'replay');
    expect(ids(resumed.frames)).toEqual([4]);

    const tooNew = follow(hub.url, hub.adminToken);
    streams.push(tooNew.stream);
    tooNew.stream.start('999');
    await tooNew.until(() => tooNew.frames.some((f) => f.event === 'reset'), 'reset');
  }, 60_000);

  it('stops and reports a refused token instead of retrying', async () => {
    const hub = await startTestHub();
    hubs.push(hub);
    const refused = follow(hub.url, 'not-a-token');
    streams.push(refused.stream);
    refused.stream.start();
    await refused.until(() => refused.unauthorized() === 1, 'unauthorized');
    expect(refused.states.at(-1)).toBe('stopped');
    expect(refused.frames).toEqual([]);
  }, 30_000);
});
