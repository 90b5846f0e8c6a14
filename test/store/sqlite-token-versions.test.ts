import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { createTokenVersionCache, FOREIGN_WRITE_CHECK_MS } from '../../src/store/sqlite/token-versions.js';
import { addAgents } from './fixtures.js';

// The SQLite store answers token versions from a copy in memory (token-versions.ts); these cases pin down when
// the copy may not answer. The contract suite (tasks.test.ts) checks rotation and removal through the store.
let dir: string;
let file: string;
let store: SqliteStore;
let other: Database.Database;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-tokens-'));
  file = path.join(dir, 'taskhub.db');
  store = createSqliteStore(file);
  await addAgents(store, 'w');
  // Another connection on the file, as a second process would be.
  other = new Database(file);
});
afterEach(async () => {
  other.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const microtasks = async (n = 20) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};
const bumpElsewhere = () => other.prepare('UPDATE agent_token_versions SET version = version + 1 WHERE name = ?').run('w');

describe('the SQLite store\'s copy of token versions', () => {
  it('does not keep what it read while a batch that changes the version was open', async () => {
    expect(await store.agents.tokenVersion('w')).toBe(1);
    const rotation = store.transaction((tx) => tx.agents.rotateToken('w'));
    await microtasks();
    expect(store.db.inTransaction).toBe(true);
    // Not committed yet, so the version in force is still 1; the copy must not keep it past the commit.
    expect(await store.agents.tokenVersion('w')).toBe(1);
    expect(await rotation).toBe(2);
    expect(await store.agents.tokenVersion('w')).toBe(2);
  });

  it('forgets a change that rolled back only to read the version again', async () => {
    expect(await store.agents.tokenVersion('w')).toBe(1);
    await expect(
      store.transaction(async (tx) => {
        await tx.agents.rotateToken('w');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await store.agents.tokenVersion('w')).toBe(1);
  });

  it('sees a version another connection committed once FOREIGN_WRITE_CHECK_MS has passed', async () => {
    expect(await store.agents.tokenVersion('w')).toBe(1);
    expect(await store.agents.tokenVersion('w')).toBe(1);
    bumpElsewhere();
    await new Promise((resolve) => setTimeout(resolve, FOREIGN_WRITE_CHECK_MS + 5));
    expect(await store.agents.tokenVersion('w')).toBe(2);
  });

  it('answers from the copy until the file says another connection wrote', () => {
    let clock = 0;
    const cache = createTokenVersionCache(store.db, () => clock);
    let loads = 0;
    const load = () => {
      loads += 1;
      return store.db.prepare('SELECT version FROM agent_token_versions WHERE name = ?').pluck().get('w') as number;
    };
    expect(cache.read('w', load, false)).toBe(1);
    expect(cache.read('w', load, true)).toBe(1);
    expect(loads).toBe(2); // the first read was not allowed to fill the copy
    expect(cache.read('w', load, true)).toBe(1);
    expect(loads).toBe(2);
    bumpElsewhere();
    // Within the window the copy still answers; past it, the changed data_version empties it.
    expect(cache.read('w', load, true)).toBe(1);
    clock += FOREIGN_WRITE_CHECK_MS;
    expect(cache.read('w', load, true)).toBe(2);
    expect(loads).toBe(3);
    cache.changing('w');
    expect(cache.size()).toBe(0);
    // An unknown name is never kept.
    expect(cache.read('nobody', () => undefined, true)).toBeUndefined();
    expect(cache.size()).toBe(0);
  });
});
