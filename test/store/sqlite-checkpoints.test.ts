import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCheckpointer, WAL_RESTART_FRAMES } from '../../src/store/sqlite/checkpoints.js';
import { openDatabase } from '../../src/store/sqlite/db.js';
import { createSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { newTask } from './fixtures.js';

// The WAL's checkpoints run in a thread of the store's own, never in a commit of the writer (checkpoints.ts).
let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-checkpoints-'));
  file = path.join(dir, 'taskhub.db');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const walBytes = () => fs.statSync(`${file}-wal`).size;
/** Threads of this process: a worker thread is one of them while it runs. */
const threads = () => fs.readdirSync('/proc/self/task').length;
const PAGE = 4096;

describe('the SQLite checkpointer', () => {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('keeps the WAL about its restart size while the writer never checkpoints', async () => {
    store = createSqliteStore(file);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const payload = { blob: 'x'.repeat(3000) };
    let written = 0;
    // About 30 MB of task rows in batches of 50, a turn of the event loop between them as a hub's load has: the WAL
    // would hold all of it if nobody checkpointed.
    for (let batch = 0; batch < 200; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, () => store!.transaction((tx) => tx.tasks.insert(newTask({ payload })))),
      );
      written += 50 * 3000;
      await sleep(2);
    }
    expect(written).toBeGreaterThan(25 * 1024 * 1024);
    // Restarted every WAL_RESTART_FRAMES frames or so; what one tick of the checkpointer lets through comes on top.
    expect(walBytes()).toBeLessThan(4 * WAL_RESTART_FRAMES * PAGE);
    expect(store.db.prepare('SELECT count(*) FROM tasks').pluck().get()).toBe(10_000);
  });

  it('ends its thread when the store closes', async () => {
    const before = threads();
    store = createSqliteStore(file);
    expect(threads()).toBe(before + 1);
    const db = store.db;
    await store.close();
    store = undefined;
    expect(db.open).toBe(false);
    for (let i = 0; i < 50 && threads() > before; i++) await sleep(10);
    expect(threads()).toBe(before);
  });

  it('hands checkpoints back to the writer and says so when its thread fails', async () => {
    const db = openDatabase(file);
    const failures: Error[] = [];
    // A file the thread cannot open: its connection fails at once, as a real failure of the thread would.
    const checkpointer = startCheckpointer(db, path.join(dir, 'missing', 'taskhub.db'), {
      isWriting: () => false,
      onFailure: (error) => failures.push(error),
    });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    for (let i = 0; i < 100 && failures.length === 0; i++) await sleep(10);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).toMatch(/directory does not exist|unable to open/i);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(WAL_RESTART_FRAMES);
    expect(checkpointer.gate.closed()).toBeUndefined();
    await checkpointer.close();
    db.close();
  });
});
