import fs from 'node:fs';
import path from 'node:path';
import type { Actor } from '../../src/domain/types.js';
import { createHub, type HubOptions } from '../../src/hub/index.js';
import { createSqliteStore } from '../../src/store/sqlite/index.js';
import { makeDataDir } from './hub.js';

export const ADMIN: Actor = { name: 'admin', role: 'admin' };
export const agent = (name: string): Actor => ({ name, role: 'agent' });

/**
 * The hub service alone on a temp SQLite file, without HTTP: for tests about time, where fake timers drive the
 * sweeper and the waiters. The clock reads `Date.now()` on every call so that fake timers move it.
 */
export function startBareHub(options: Partial<HubOptions> = {}, dataDir = makeDataDir()) {
  const store = createSqliteStore(path.join(dataDir, 'taskhub.db'));
  const hub = createHub(store, {
    secret: 'a test secret of enough length',
    leaseSeconds: 300,
    maxAttempts: 3,
    eventRetentionDays: 7,
    now: () => Date.now(),
    ...options,
  });
  return {
    hub,
    store,
    dataDir,
    /** Adds agents by name (no capabilities). */
    async addAgents(...names: string[]) {
      for (const name of names) await hub.agents.create(ADMIN, { name });
    },
    async close({ keepData = false } = {}) {
      await hub.stop();
      await store.close();
      if (!keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type BareHub = ReturnType<typeof startBareHub>;
