import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, migrationFiles } from '../../src/store/postgres/migrate.js';
import { createPool } from '../../src/store/postgres/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';

describe('PostgreSQL migrations', () => {
  let db: TestDatabase | undefined;
  const pools: ReturnType<typeof createPool>[] = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    await db?.drop();
  });

  it('are applied once when several hubs start on an empty database at the same moment', async () => {
    db = await createTestDatabase();
    for (let i = 0; i < 4; i++) pools.push(createPool(db.url, { max: 2 }));
    const applied = await Promise.all(pools.map((pool) => migrate(pool)));
    const versions = migrationFiles().map((m) => m.version);
    // Exactly one starter applied each version; the others waited on the lock and found it done.
    expect(applied.flat().sort()).toEqual(versions);
    const rows = await pools[0]!.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.rows.map((r) => r.version)).toEqual(versions);
    const tables = await pools[0]!.query<{ t: string }>(
      "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    expect(tables.rows.map((r) => r.t)).toEqual([
      'agent_capabilities', 'agent_token_versions', 'agents', 'dev_mailbox', 'event_recipients', 'events', 'hub_streams',
      'hubs', 'messages', 'meta', 'outbox', 'rate_limits', 'schema_migrations', 'tasks', 'webhooks',
    ]);
    expect(await migrate(pools[0]!)).toEqual([]);
  });

  it('roll a failing migration back whole and apply nothing after it', async () => {
    db = await createTestDatabase();
    const pool = createPool(db.url, { max: 1 });
    pools.push(pool);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-mig-'));
    try {
      fs.writeFileSync(path.join(dir, '001_ok.sql'), 'CREATE TABLE a (x int);');
      fs.writeFileSync(path.join(dir, '002_bad.sql'), 'CREATE TABLE b (x int); SELECT no_such_function();');
      fs.writeFileSync(path.join(dir, '003_later.sql'), 'CREATE TABLE c (x int);');
      await expect(migrate(pool, dir)).rejects.toThrow(/no_such_function/);
      const tables = await pool.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
      expect(tables.rows.map((r) => r.t)).toEqual(['a', 'schema_migrations']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
