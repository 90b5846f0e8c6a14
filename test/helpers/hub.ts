import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startTaskhub, type Taskhub } from '../../src/main.js';
import type { SqliteStore } from '../../src/store/sqlite/index.js';

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
 * Starts a real hub on port 0 with a temp SQLite file (or `dataDir`), quiet logs (or `logger`) and any env
 * overrides.
 * The data dir is removed on `stop()` unless `keepData` is passed.
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
    ...env,
  });
  const taskhub = await startTaskhub(config, logger ?? pino({ level: config.logLevel }));
  const testHub: TestHub = {
    ...taskhub,
    dataDir,
    async stop(options = {}) {
      running.delete(testHub);
      await taskhub.stop();
      if (!options.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
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
