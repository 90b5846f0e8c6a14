import { expect, it } from 'vitest';
import { forEachStore } from './backends.js';

// The Store contract for presence: each hub's streams per agent, counted only while the hub's row is live.
const T = 1_000_000;
const LIVE_UNTIL = T + 20_000;
const none = new Map<string, number>();

forEachStore((make) => {
  it('counts an agent’s streams over every live hub, and refuses the one over the limit', async () => {
    const { store, another } = await make();
    const other = another();
    await store.presence.heartbeat('a', none, T, LIVE_UNTIL);
    await other.presence.heartbeat('b', none, T, LIVE_UNTIL);
    expect(await store.presence.open('a', 'worker', 3, T)).toEqual({ opened: true, streams: 1 });
    expect(await other.presence.open('b', 'worker', 3, T)).toEqual({ opened: true, streams: 2 });
    expect(await other.presence.open('b', 'worker', 3, T)).toEqual({ opened: true, streams: 3 });
    expect(await store.presence.open('a', 'worker', 3, T)).toEqual({ opened: false, streams: 3 });
    expect(await store.presence.streams(['worker', 'idle'], T)).toEqual(new Map([['worker', 3]]));
    await other.presence.close('b', 'worker');
    expect(await store.presence.open('a', 'worker', 3, T)).toEqual({ opened: true, streams: 3 });
    expect(await other.presence.streams(['worker'], T)).toEqual(new Map([['worker', 3]]));
    expect(await store.presence.connectedAgents(T)).toBe(1);
    expect(await store.presence.liveHubs(T)).toBe(2);
  });

  it('lets only one of many opens racing for the last slot win', async () => {
    const { store, another } = await make();
    const stores = [store, another(), another()];
    await Promise.all(stores.map((s, i) => s.presence.heartbeat(`h${i}`, none, T, LIVE_UNTIL)));
    const tries = stores.flatMap((s, i) => Array.from({ length: 4 }, () => s.presence.open(`h${i}`, 'worker', 5, T)));
    const outcomes = await Promise.all(tries);
    expect(outcomes.filter((o) => o.opened)).toHaveLength(5);
    expect(await store.presence.streams(['worker'], T)).toEqual(new Map([['worker', 5]]));
  });

  it('stops counting the streams of a hub whose row expired, and sweeps its rows', async () => {
    const { store } = await make();
    await store.presence.heartbeat('dead', none, T, T + 5_000);
    await store.presence.heartbeat('alive', none, T, LIVE_UNTIL);
    await store.presence.open('dead', 'worker', 10, T);
    await store.presence.open('dead', 'other', 10, T);
    await store.presence.open('alive', 'worker', 10, T);
    expect(await store.presence.streams(['worker', 'other'], T)).toEqual(new Map([['worker', 2], ['other', 1]]));
    const later = T + 5_000;
    expect(await store.presence.streams(['worker', 'other'], later)).toEqual(new Map([['worker', 1]]));
    expect(await store.presence.connectedAgents(later)).toBe(1);
    expect(await store.presence.liveHubs(later)).toBe(1);
    // The dead hub's streams do not count against the limit either.
    expect(await store.presence.open('alive', 'worker', 2, later)).toEqual({ opened: true, streams: 2 });
    expect(await store.presence.sweep(later)).toBe(1);
    expect(await store.presence.sweep(later)).toBe(0);
  });

  it('re-asserts a hub’s whole state at its heartbeat, bringing back a hub that was swept', async () => {
    const { store } = await make();
    await store.presence.heartbeat('a', none, T, T + 1_000);
    await store.presence.open('a', 'worker', 10, T);
    await store.presence.open('a', 'gone', 10, T);
    await store.presence.sweep(T + 1_000);
    expect(await store.presence.streams(['worker'], T + 1_000)).toEqual(new Map());
    // Its next heartbeat says what it holds: two of worker's, none of gone's.
    await store.presence.heartbeat('a', new Map([['worker', 2], ['gone', 0]]), T + 1_500, T + 21_500);
    expect(await store.presence.streams(['worker', 'gone'], T + 1_500)).toEqual(new Map([['worker', 2]]));
    await store.presence.heartbeat('a', new Map([['worker', 1]]), T + 2_000, T + 22_000);
    expect(await store.presence.streams(['worker'], T + 2_000)).toEqual(new Map([['worker', 1]]));
  });

  it('forgets a hub and its streams on removeHub, and never counts below zero', async () => {
    const { store } = await make();
    await store.presence.heartbeat('a', none, T, LIVE_UNTIL);
    await store.presence.open('a', 'worker', 10, T);
    await store.presence.close('a', 'worker');
    await store.presence.close('a', 'worker');
    expect(await store.presence.streams(['worker'], T)).toEqual(new Map());
    expect(await store.presence.open('a', 'worker', 1, T)).toEqual({ opened: true, streams: 1 });
    await store.presence.removeHub('a');
    expect(await store.presence.liveHubs(T)).toBe(0);
    expect(await store.presence.connectedAgents(T)).toBe(0);
    // Reads inside a transaction see the committed presence.
    await store.presence.heartbeat('b', none, T, LIVE_UNTIL);
    await store.presence.open('b', 'worker', 1, T);
    expect(await store.transaction((tx) => tx.presence.streams(['worker'], T))).toEqual(new Map([['worker', 1]]));
  });
});
