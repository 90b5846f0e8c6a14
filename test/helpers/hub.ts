import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startTaskhub, type Taskhub } from '../../src/main.js';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import { createTestDatabase, type TestDatabase } from './postgres-db.js';

export interface TestHub extends Taskhub {
  dataDir: string;
  /** Stops the hub; with `keepData` the data dir stays for a restart on it. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

const running = new Set<TestHub>();

/** A fresh temp data dir. */
export function makeDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-test-'));
}

/**
 * The store test hubs run on: `TASKHUB_TEST_STORE=postgres` (set by the `postgres` project in vitest.config.ts)
 * gives each data dir a database of its own in the run's cluster; otherwise SQLite in the data dir.
 */
export const testStore = (): 'sqlite' | 'postgres' => (process.env.TASKHUB_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite');

// A hub restarted on the same data dir (keepData) finds the same database again.
const databases = new Map<string, TestDatabase>();

async function storeEnv(dataDir: string): Promise<Record<string, string>> {
  if (testStore() === 'sqlite') return {};
  let db = databases.get(dataDir);
  if (!db) databases.set(dataDir, (db = await createTestDatabase()));
  return { TASKHUB_DATABASE_URL: db.url, TASKHUB_JWT_SECRET: 'a test secret shared by every hub on the database' };
}

/**
 * Starts a real hub on port 0 with a temp SQLite file (or `dataDir`; on PostgreSQL, see `testStore`), quiet logs
 * (or `logger`) and any env overrides. The data dir (and its database) is removed on `stop()` unless `keepData` is passed.
 */
export async function startTestHub(
  env: Record<string, string> = {},
  dataDir = makeDataDir(),
  logger?: Logger,
): Promise<TestHub> {
  const config = loadConfig({
    PORT: '0',
    TASKHUB_DATA_DIR: dataDir,
    TASKHUB_SMTP_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(await storeEnv(dataDir)),
    ...env,
  });
  const taskhub = await startTaskhub(config, logger ?? pino({ level: config.logLevel }));
  const testHub: TestHub = {
    ...taskhub,
    dataDir,
    async stop(options = {}) {
      running.delete(testHub);
      await taskhub.stop();
      if (options.keepData) return;
      fs.rmSync(dataDir, { recursive: true, force: true });
      await databases.get(dataDir)?.drop();
      databases.delete(dataDir);
    },
  };
  running.add(testHub);
  return testHub;
}

/** Stops hubs a test forgot; returns their URLs so the test can fail. */
export async function stopAllTestHubs(): Promise<string[]> {
  const left = [...running];
  await Promise.all(left.map((h) => h.stop()));
  return left.map((h) => h.url);
}

/** The SQLite connection under a test hub, for tests that look at rows directly. */
export const dbOf = (hub: Taskhub) => (hub.store as SqliteStore).db;
