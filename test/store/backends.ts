import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';

/** One database for one test: `open()` gives a store on it (call it again for a second one, as another hub). */
export interface TestDatabase {
  open(): Store;
  /** Removes the database; every store opened on it is closed first. */
  drop(): Promise<void>;
}

/** A store implementation the contract suite runs against. */
export interface StoreBackend {
  name: string;
  createDatabase(): Promise<TestDatabase>;
}

export const sqliteBackend: StoreBackend = {
  name: 'sqlite',
  async createDatabase() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-store-'));
    const opened: Store[] = [];
    return {
      open() {
        const store = createSqliteStore(path.join(dir, 'taskhub.db'));
        opened.push(store);
        return store;
      },
      async drop() {
        await Promise.all(opened.map((s) => s.close()));
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/** Every backend the contract suite runs on. A new store adds its backend here, one line. */
export const BACKENDS: StoreBackend[] = [sqliteBackend];

/** What a contract case gets: a fresh store, and a way to open another one on the same database. */
export interface StoreFixture {
  store: Store;
  /** Another store on the same database (another hub, another process). */
  another(): Store;
}

/**
 * Runs the cases `define` declares once per backend (goqite's pattern), each on a fresh database that is
 * dropped after the test: `forEachStore((make) => it('…', async () => { const { store } = await make(); … }))`.
 */
export function forEachStore(define: (make: () => Promise<StoreFixture>) => void): void {
  for (const backend of BACKENDS) {
    describe(`on ${backend.name}`, () => {
      const databases: TestDatabase[] = [];
      afterEach(async () => {
        await Promise.all(databases.splice(0).map((db) => db.drop()));
      });
      define(async () => {
        const db = await backend.createDatabase();
        databases.push(db);
        return { store: db.open(), another: () => db.open() };
      });
    });
  }
}
