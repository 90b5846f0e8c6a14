import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
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

  it('drops the database afterwards', async () => {
    const first = await createTestDatabase();
    await first.drop();
    const client = new pg.Client({ connectionString: first.url });
    await expect(client.connect()).rejects.toThrow(/does not exist/);
    await client.end().catch(() => {});
  });
});
