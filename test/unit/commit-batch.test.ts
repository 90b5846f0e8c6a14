import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubEvent } from '../../src/domain/types.js';
import { createChangeRecorder } from '../../src/hub/changes.js';
import { createEventBus } from '../../src/hub/event-bus.js';
import { createStore, type Store } from '../../src/store/index.js';

let dir: string;
let store: Store;
let reader: Database.Database;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-unit-'));
  store = createStore(path.join(dir, 'taskhub.db'));
  // A second connection sees only what is committed, as another process would.
  reader = new Database(path.join(dir, 'taskhub.db'), { readonly: true });
});
afterEach(() => {
  reader.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const event = (type: string) => ({ type, at: 1, taskId: null, recipients: ['a'], data: '{}' });
const committedTypes = () => (reader.prepare('SELECT type FROM events ORDER BY id').pluck().all() as string[]);
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('group commit', () => {
  it('commits the changes of one turn together, then publishes their events and calls afterCommit', async () => {
    const bus = createEventBus();
    const seen: HubEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const changes = createChangeRecorder(store, bus);
    const told: boolean[] = [];
    store.batched(() => changes.run(() => changes.emit(event('one'))));
    store.batched(() => changes.run(() => changes.emit(event('two'))));
    store.afterCommit((committed) => told.push(committed));

    expect(store.pending()).toBe(true);
    expect(committedTypes()).toEqual([]);
    expect(seen).toEqual([]);
    expect(told).toEqual([]);
    await nextTurn();
    expect(store.pending()).toBe(false);
    expect(committedTypes()).toEqual(['one', 'two']);
    expect(seen.map((e) => e.type)).toEqual(['one', 'two']);
    expect(told).toEqual([true]);
  });

  it('rolls back only the change that throws; the rest of the batch commits', async () => {
    const changes = createChangeRecorder(store, createEventBus());
    store.batched(() => changes.run(() => changes.emit(event('kept'))));
    expect(() =>
      store.batched(() =>
        changes.run(() => {
          changes.emit(event('doomed'));
          throw new Error('no');
        }),
      ),
    ).toThrow('no');
    store.batched(() => changes.run(() => changes.emit(event('also kept'))));
    await store.settled();
    expect(committedTypes()).toEqual(['kept', 'also kept']);
  });

  it('commits a change made outside batching at once, after the open batch', () => {
    const changes = createChangeRecorder(store, createEventBus());
    store.batched(() => changes.run(() => changes.emit(event('batched'))));
    changes.run(() => changes.emit(event('alone')));
    expect(store.pending()).toBe(false);
    expect(committedTypes()).toEqual(['batched', 'alone']);
  });

  it('tells afterCommit at once when nothing waits, and close() commits what waits', () => {
    const told: boolean[] = [];
    store.afterCommit((committed) => told.push(committed));
    expect(told).toEqual([true]);
    const changes = createChangeRecorder(store, createEventBus());
    store.batched(() => changes.run(() => changes.emit(event('last'))));
    store.afterCommit((committed) => told.push(committed));
    store.close();
    expect(told).toEqual([true, true]);
    expect(committedTypes()).toEqual(['last']);
  });
});

describe('a group commit that fails', () => {
  // A deferred foreign key is checked at COMMIT: a real way to make the commit itself fail.
  const makeCommitFail = () => {
    store.db.exec(`CREATE TABLE IF NOT EXISTS doomed (
      ref TEXT REFERENCES agents (name) DEFERRABLE INITIALLY DEFERRED) STRICT`);
    return () => store.db.prepare("INSERT INTO doomed (ref) VALUES ('nobody')").run();
  };

  it('rolls back every change of the batch, publishes nothing and tells afterCommit false', async () => {
    const insertDangling = makeCommitFail();
    const failures: unknown[] = [];
    store.close();
    store = createStore(path.join(dir, 'taskhub.db'), { onCommitError: (error) => failures.push(error) });
    const bus = createEventBus();
    const seen: HubEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const changes = createChangeRecorder(store, bus);
    const told: boolean[] = [];
    store.batched(() => changes.run(() => changes.emit(event('innocent'))));
    store.batched(() => store.transaction(() => insertDangling()));
    store.afterCommit((committed) => told.push(committed));
    await nextTurn();
    expect(told).toEqual([false]);
    expect(failures).toHaveLength(1);
    expect(seen).toEqual([]);
    expect(committedTypes()).toEqual([]);
    // The store goes on: the next change commits as usual.
    store.batched(() => changes.run(() => changes.emit(event('after'))));
    await store.settled();
    expect(committedTypes()).toEqual(['after']);
  });

  it('commits a dev-mailbox mail on its own, even while a batch is open, so the SMTP 250 follows a commit', () => {
    const changes = createChangeRecorder(store, createEventBus());
    store.batched(() => changes.run(() => changes.emit(event('batched'))));
    expect(store.pending()).toBe(true);
    const mail = { from: 'hub@localhost', to: 'someone@example.com', subject: 's', headers: {}, text: 't', json: null,
      receivedAt: 1 };
    store.devMailbox.add([mail], { maxMails: 10, maxBytes: 1 << 20 });
    // Both the open batch and the mail are committed by the time `add` returns.
    expect(store.pending()).toBe(false);
    expect(reader.prepare('SELECT count(*) FROM dev_mailbox').pluck().get()).toBe(1);
    expect(committedTypes()).toEqual(['batched']);
  });
});
