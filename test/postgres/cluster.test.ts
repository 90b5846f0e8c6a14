import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool } from '../../src/store/postgres/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';

describe('the test run’s PostgreSQL cluster', () => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await db?.drop();
  });

  it('hands each test a database of its own, with the durability settings the contract asks for', async () => {
    db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const settings = await client.query<{ name: string; setting: string }>(
        `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'server_version_num')`,
      );
      const byName = Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]));
      expect(byName).toMatchObject({ fsync: 'on', synchronous_commit: 'on' });
      expect(Number(byName.server_version_num)).toBeGreaterThanOrEqual(150000);
      const current = await client.query<{ db: string }>('SELECT current_database() AS db');
      expect(current.rows[0]?.db).toBe(db.name);
    } finally {
      await client.end();
    }
  });

  it("commits the store's changes durably even where the database's default says not to", async () => {
    db = await createTestDatabase();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${db.name} SET synchronous_commit = off`);
    } finally {
      await admin.end();
    }
    const plain = new pg.Client({ connectionString: db.url });
    await plain.connect();
    const store = createPool(db.url);
    try {
      expect((await plain.query('SHOW synchronous_commit')).rows[0]).toEqual({ synchronous_commit: 'off' });
      expect((await store.query('SHOW synchronous_commit')).rows[0]).toEqual({ synchronous_commit: 'on' });
    } finally {
      await plain.end();
      await store.end();
    }
  });

  it('drops the database afterwards', async () => {
    const first = await createTestDatabase();
    await first.drop();
    const client = new pg.Client({ connectionString: first.url });
    await expect(client.connect()).rejects.toThrow(/does not exist/);
    await client.end().catch(() => {});
  });
});
