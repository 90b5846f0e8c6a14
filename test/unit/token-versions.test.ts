import { describe, expect, it } from 'vitest';
import { createTokenVersionCache, PENDING_CHANGE_MS } from '../../src/store/postgres/token-versions.js';

/** A load that counts its calls and answers `version`. */
const loader = (version: number | undefined) => {
  const load = async () => {
    load.calls += 1;
    return version;
  };
  load.calls = 0;
  return load;
};

describe('the copy of token versions', () => {
  it('serves a version it read only while the feed listens', async () => {
    const cache = createTokenVersionCache();
    const load = loader(3);
    expect(await cache.read('w', load)).toBe(3);
    expect(await cache.read('w', load)).toBe(3);
    expect(load.calls).toBe(2);
    cache.listening(true);
    await cache.read('w', load);
    expect(await cache.read('w', load)).toBe(3);
    expect(load.calls).toBe(3);
    // A dropped connection may have lost notifications: everything is read again, and not kept.
    cache.listening(false);
    await cache.read('w', load);
    await cache.read('w', load);
    expect(load.calls).toBe(5);
  });

  it('keeps a name this hub is changing out until the change is notified', async () => {
    let now = 1000;
    const cache = createTokenVersionCache(() => now);
    cache.listening(true);
    await cache.read('w', loader(1));
    cache.changing('w');
    const during = loader(1);
    await cache.read('w', during);
    await cache.read('w', during);
    expect(during.calls).toBe(2);
    cache.changed('w');
    const after = loader(2);
    await cache.read('w', after);
    expect(await cache.read('w', after)).toBe(2);
    expect(after.calls).toBe(1);
    // A change that never committed (no notification) holds the name out for PENDING_CHANGE_MS only.
    cache.changing('w');
    now += PENDING_CHANGE_MS + 1;
    const later = loader(2);
    await cache.read('w', later);
    await cache.read('w', later);
    expect(later.calls).toBe(1);
  });

  it('never keeps what a read begun before a change found, nor an unknown agent', async () => {
    const cache = createTokenVersionCache();
    cache.listening(true);
    let release: (version: number) => void = () => {};
    const slow = cache.read('w', () => new Promise<number>((resolve) => (release = resolve)));
    cache.changed('w');
    release(1);
    expect(await slow).toBe(1);
    const next = loader(2);
    expect(await cache.read('w', next)).toBe(2);
    expect(next.calls).toBe(1);
    const unknown = loader(undefined);
    await cache.read('gone', unknown);
    await cache.read('gone', unknown);
    expect(unknown.calls).toBe(2);
    expect(cache.size()).toBe(1);
  });
});
