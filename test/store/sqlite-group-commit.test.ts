import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubEvent } from '../../src/domain/types.js';
import { createChangeRecorder } from '../../src/hub/changes.js';
import { createEventBus } from '../../src/hub/event-bus.js';
import { CommitFailedError, createSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { newEvent, newTask } from './fixtures.js';

// Group commit is the SQLite store's own business: nobody above the store knows of it. These cases pin it down.
let dir: string;
let file: string;
let store: SqliteStore;
let reader: Database.Database;
let commitErrors: unknown[];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-group-'));
  file = path.join(dir, 'taskhub.db');
  commitErrors = [];
  store = createSqliteStore(file, { onCommitError: (error) => commitErrors.push(error) });
  // A second connection sees only what is committed, as another process would.
  reader = new Database(file, { readonly: true });
});
afterEach(async () => {
  reader.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const committedTaskIds = () => reader.prepare('SELECT id FROM tasks ORDER BY seq').pluck().all() as string[];
const microtasks = async (n = 20) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

/** A deferred foreign key is checked at COMMIT: a real way to make the commit itself fail. */
function commitWillFail(): () => void {
  store.db.exec(`CREATE TABLE doomed (ref TEXT REFERENCES agents (name) DEFERRABLE INITIALLY DEFERRED) STRICT`);
  const insert = store.db.prepare("INSERT INTO doomed (ref) VALUES ('nobody')");
  return () => insert.run();
}

describe('group commit', () => {
  it('commits the transactions of one turn with one COMMIT, and resolves each only after it', async () => {
    const resolved: string[] = [];
    const writes = ['a', 'b', 'c'].map((id) =>
      store.transaction(async (tx) => (await tx.tasks.insert(newTask({ id }))).id).then((id) => resolved.push(id)),
    );
    await microtasks();
    // Every fn has run: the batch is open, nothing is committed, nobody has been answered.
    expect(store.db.inTransaction).toBe(true);
    expect(committedTaskIds()).toEqual([]);
    expect(resolved).toEqual([]);
    await Promise.all(writes);
    expect(committedTaskIds()).toEqual(['a', 'b', 'c']);
    expect(resolved).toEqual(['a', 'b', 'c']);
  });

  it('rolls back only the transaction that throws; the rest of its batch commits', async () => {
    const kept = store.transaction(async (tx) => tx.tasks.insert(newTask({ id: 'kept' })));
    const doomed = store.transaction(async (tx) => {
      await tx.tasks.insert(newTask({ id: 'doomed' }));
      throw new Error('no');
    });
    const also = store.transaction(async (tx) => tx.tasks.insert(newTask({ id: 'also kept' })));
    await expect(doomed).rejects.toThrow('no');
    await Promise.all([kept, also]);
    expect(committedTaskIds()).toEqual(['kept', 'also kept']);
  });

  it('runs a batch again, each change a savepoint, when a later change throws after writing; others run twice', async () => {
    const runs = { kept: 0, doomed: 0, later: 0 };
    const kept = store.transaction(async (tx) => {
      runs.kept += 1;
      return tx.tasks.insert(newTask({ id: 'kept' }));
    });
    const doomed = store.transaction(async (tx) => {
      runs.doomed += 1;
      await tx.tasks.insert(newTask({ id: 'doomed' }));
      throw new Error('no');
    });
    const later = store.transaction(async (tx) => {
      runs.later += 1;
      return tx.tasks.insert(newTask({ id: 'later' }));
    });
    await expect(doomed).rejects.toThrow('no');
    expect((await kept).id).toBe('kept');
    expect((await later).id).toBe('later');
    expect(committedTaskIds()).toEqual(['kept', 'later']);
    // The first run of the batch was rolled back whole; the second ran each change in a savepoint.
    expect(runs).toEqual({ kept: 2, doomed: 2, later: 1 });
  });

  it('runs nothing again when a change throws having written nothing, or after a statement of it failed', async () => {
    const runs = { first: 0, reader: 0, duplicate: 0, last: 0 };
    const first = store.transaction(async (tx) => {
      runs.first += 1;
      return tx.tasks.insert(newTask({ id: 'first' }));
    });
    const reading = store.transaction(async (tx) => {
      runs.reader += 1;
      await tx.tasks.get('first');
      throw new Error('read, then refused');
    });
    const duplicate = store.transaction(async (tx) => {
      runs.duplicate += 1;
      return tx.tasks.insert(newTask({ id: 'first' })); // the primary key is taken: SQLite undoes the statement
    });
    const last = store.transaction(async (tx) => {
      runs.last += 1;
      return tx.tasks.insert(newTask({ id: 'last' }));
    });
    await expect(reading).rejects.toThrow('read, then refused');
    await expect(duplicate).rejects.toThrow(/UNIQUE/);
    await Promise.all([first, last]);
    expect(committedTaskIds()).toEqual(['first', 'last']);
    expect(runs).toEqual({ first: 1, reader: 1, duplicate: 1, last: 1 });
  });

  it('rolls back a first change that throws after writing (nothing else is in its batch); later ones commit', async () => {
    const doomed = store.transaction(async (tx) => {
      await tx.tasks.insert(newTask({ id: 'doomed first' }));
      throw new Error('no');
    });
    const next = store.transaction(async (tx) => tx.tasks.insert(newTask({ id: 'next' })));
    await expect(doomed).rejects.toThrow('no');
    await next;
    expect(committedTaskIds()).toEqual(['next']);
    expect(store.db.inTransaction).toBe(false);
    // A change alone in its turn, throwing, leaves the connection ready for the next.
    await expect(store.transaction(async (tx) => {
      await tx.tasks.insert(newTask({ id: 'alone' }));
      throw new Error('alone');
    })).rejects.toThrow('alone');
    expect(store.db.inTransaction).toBe(false);
    await store.transaction(async (tx) => tx.tasks.insert(newTask({ id: 'after' })));
    expect(committedTaskIds()).toEqual(['next', 'after']);
  });

  it('rejects every transaction of a batch whose COMMIT fails, keeps none of it, and goes on', async () => {
    const insertDangling = commitWillFail();
    const innocent = store.transaction(async (tx) => tx.tasks.insert(newTask({ id: 'innocent' })));
    const culprit = store.transaction(async () => insertDangling());
    const results = await Promise.allSettled([innocent, culprit]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(CommitFailedError);
    expect(commitErrors).toHaveLength(1);
    expect(committedTaskIds()).toEqual([]);
    await store.transaction(async (tx) => tx.tasks.insert(newTask({ id: 'after' })));
    expect(committedTaskIds()).toEqual(['after']);
  });

  it('answers reads on their own at once from committed data, never from the open batch', async () => {
    const write = store.transaction(async (tx) => tx.tasks.insert(newTask({ id: 'w' })));
    await microtasks();
    // Written on the writer connection, not committed: a read does not wait for it, and does not see it.
    expect(store.db.inTransaction).toBe(true);
    expect(await store.tasks.get('w')).toBeUndefined();
    expect(store.db.inTransaction).toBe(true);
    await write;
    expect((await store.tasks.get('w'))?.id).toBe('w');
  });

  it('commits a dev-mailbox mail before add() resolves, even with other changes in its batch', async () => {
    const change = store.transaction(async (tx) => tx.tasks.insert(newTask({ id: 'batched' })));
    const mail = { from: 'hub@localhost', to: 'someone@example.com', subject: 's', headers: {}, text: 't', json: null,
      receivedAt: 1 };
    await store.devMailbox.add([mail], { maxMails: 10, maxBytes: 1 << 20 });
    // The SMTP listener answers 250 now: the mail is durable.
    expect(reader.prepare('SELECT count(*) FROM dev_mailbox').pluck().get()).toBe(1);
    await change;
  });

  it('waits for a write lock held by another connection on timers, never blocking the event loop', async () => {
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    const write = store.transaction(async (tx) => tx.tasks.insert(newTask({ id: 'later' })));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(ticks).toBeGreaterThan(3);
    expect(committedTaskIds()).toEqual([]);
    other.exec('COMMIT');
    other.close();
    await write;
    clearInterval(ticker);
    expect(committedTaskIds()).toEqual(['later']);
  });
});

describe('changes on the group commit', () => {
  it('publishes each change its own events, after its commit, in id order; a change that throws publishes none', async () => {
    const bus = createEventBus();
    const seen: HubEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const changes = createChangeRecorder(store, bus);
    const runs = Array.from({ length: 10 }, (_, i) =>
      changes.run(async (c) => {
        await c.emit(newEvent(`c${i}.first`));
        await c.emit(newEvent(`c${i}.second`));
        if (i % 3 === 0) throw new Error(`no ${i}`);
        return i;
      }),
    );
    await microtasks();
    expect(seen).toEqual([]);
    await Promise.allSettled(runs);
    const kept = [1, 2, 4, 5, 7, 8];
    expect(seen.map((e) => e.type)).toEqual(kept.flatMap((i) => [`c${i}.first`, `c${i}.second`]));
    const ids = seen.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(reader.prepare('SELECT count(*) FROM events').pluck().get()).toBe(kept.length * 2);
  });

  it('publishes nothing of a batch whose commit fails', async () => {
    const insertDangling = commitWillFail();
    const bus = createEventBus();
    const seen: HubEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const changes = createChangeRecorder(store, bus);
    const innocent = changes.run((c) => c.emit(newEvent('innocent')));
    const culprit = changes.run(async (c) => {
      await c.emit(newEvent('culprit'));
      insertDangling();
    });
    await expect(innocent).rejects.toBeInstanceOf(CommitFailedError);
    await expect(culprit).rejects.toBeInstanceOf(CommitFailedError);
    expect(seen).toEqual([]);
    await changes.run((c) => c.emit(newEvent('after')));
    expect(seen.map((e) => e.type)).toEqual(['after']);
  });
});
