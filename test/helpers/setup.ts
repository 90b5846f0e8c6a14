import { afterAll, afterEach, expect } from 'vitest';
import { stopAllTestHubs } from './hub.js';

/** Kinds of libuv handle a test must not leave behind: servers, sockets and timers it opened. */
const WATCHED = ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'];
const count = () => {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
};
const baseline = count();

afterEach(async () => {
  const leftover = await stopAllTestHubs();
  expect(leftover, 'a test left a hub running; call hub.stop()').toEqual([]);
});

afterAll(async () => {
  // Closed sockets leave the handle list on the next turns of the event loop.
  let now = count();
  for (let i = 0; i < 50 && WATCHED.some((k) => (now.get(k) ?? 0) > (baseline.get(k) ?? 0)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    now = count();
  }
  const grown = WATCHED.filter((k) => (now.get(k) ?? 0) > (baseline.get(k) ?? 0)).map(
    (k) => `${k}: ${baseline.get(k) ?? 0} → ${now.get(k)}`,
  );
  expect(grown, 'handles left open by this test file').toEqual([]);
});
