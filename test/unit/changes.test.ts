import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubEvent } from '../../src/domain/types.js';
import { createChangeRecorder } from '../../src/hub/changes.js';
import { createEventBus } from '../../src/hub/event-bus.js';
import { createStore, type Store } from '../../src/store/index.js';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-unit-'));
  store = createStore(path.join(dir, 'taskhub.db'));
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const event = (type: string) => ({ type, at: 1, taskId: null, recipients: ['a'], data: '{}' });

describe('the change recorder', () => {
  it('publishes events only after the outermost change commits, in order', () => {
    const bus = createEventBus();
    const seen: HubEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const changes = createChangeRecorder(store, bus);
    changes.run(() => {
      changes.emit(event('one'));
      changes.run(() => changes.emit(event('two')));
      expect(seen).toEqual([]);
    });
    expect(seen.map((e) => e.type)).toEqual(['one', 'two']);
    expect(seen.map((e) => e.id)).toEqual([1, 2]);
  });

  it('publishes and stores nothing of a change that throws', () => {
    const bus = createEventBus();
    const seen: HubEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const changes = createChangeRecorder(store, bus);
    expect(() =>
      changes.run(() => {
        changes.emit(event('doomed'));
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(seen).toEqual([]);
    expect(store.events.listAll(0, 10)).toEqual([]);
  });

  it('drops the events of a nested change that rolled back while the outer one goes on', () => {
    const bus = createEventBus();
    const seen: HubEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const changes = createChangeRecorder(store, bus);
    changes.run(() => {
      changes.emit(event('kept'));
      try {
        changes.run(() => {
          changes.emit(event('rolled back'));
          throw new Error('inner');
        });
      } catch {
        // The outer change decides to go on without the inner one.
      }
      changes.emit(event('also kept'));
    });
    expect(seen.map((e) => e.type)).toEqual(['kept', 'also kept']);
    expect(store.events.listAll(0, 10).map((e) => e.type)).toEqual(['kept', 'also kept']);
  });

  it('refuses emit outside a change', () => {
    const changes = createChangeRecorder(store, createEventBus());
    expect(() => changes.emit(event('loose'))).toThrow(/outside/);
  });
});
