import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { createPostgresStore, openPostgresStore } from '../../src/store/postgres/index.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { createTestDatabase as createPostgresTestDatabase, postgresUrl } from '../helpers/postgres-db.js';

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

/** A database of its own in the run's PostgreSQL cluster, migrated once; each `open()` is a store (a pool) on it. */
export const postgresBackend: StoreBackend = {
  name: 'postgres',
  async createDatabase() {
    const db = await createPostgresTestDatabase();
    const opened: Store[] = [];
    try {
      opened.push(await openPostgresStore(db.url, { max: 4 }));
    } catch (error) {
      await db.drop();
      throw error;
    }
    let first: Store | undefined = opened[0];
    return {
      open() {
        // The first open hands out the store that migrated the database; later ones are further pools on it.
        const store = first ?? createPostgresStore(db.url, { max: 4 });
        if (!first) opened.push(store);
        first = undefined;
        return store;
      },
      async drop() {
        await Promise.all(opened.map((s) => s.close()));
        await db.drop();
      },
    };
  },
};

/**
 * Every backend the contract suite runs on. A new store adds its backend here, one line. PostgreSQL is left out
 * when the run has no cluster (vitest.config.ts says so with a notice).
 */
export const BACKENDS: StoreBackend[] = [sqliteBackend, ...(postgresUrl() ? [postgresBackend] : [])];

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
