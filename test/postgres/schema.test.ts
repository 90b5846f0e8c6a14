import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { LEASED_STATUSES, OPEN_STATUSES, TASK_STATUSES } from '../../src/domain/task-status.js';
import { migrate } from '../../src/store/postgres/migrate.js';
import { OUTBOX_STATUSES } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-db.js';

// The status lists written out in the PostgreSQL migrations must be the domain's, as on SQLite
// (test/store/sqlite-schema.test.ts): a status added to one and not the other fails here.
let db: TestDatabase | undefined;
afterEach(async () => {
  await db?.drop();
});

/** The quoted constants of a definition PostgreSQL printed (`status = ANY (ARRAY['a'::text, …])`), in order. */
const constantsOf = (definition: string) => [...definition.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1]);

it('checks statuses and keeps the partial indexes on exactly the domain’s status sets', async () => {
  db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  try {
    await migrate(pool);
    const check = async (table: string) => {
      const { rows } = await pool.query<{ def: string }>(
        `SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
         WHERE c.conrelid = $1::regclass AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%status%'`,
        [table],
      );
      return constantsOf(rows[0]!.def);
    };
    const index = async (name: string) => {
      const { rows } = await pool.query<{ def: string }>('SELECT pg_get_indexdef($1::regclass) AS def', [name]);
      return rows[0]!.def;
    };
    expect(await check('tasks')).toEqual([...TASK_STATUSES]);
    expect(await check('outbox')).toEqual([...OUTBOX_STATUSES]);
    expect(constantsOf(await index('tasks_by_deadline'))).toEqual([...OPEN_STATUSES]);
    expect(constantsOf(await index('tasks_open_by_target'))).toEqual([...OPEN_STATUSES]);
    expect(constantsOf(await index('tasks_by_lease'))).toEqual([...LEASED_STATUSES]);
    expect(constantsOf(await index('outbox_due'))).toEqual(['queued']);
  } finally {
    await pool.end();
  }
});
