import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** The run's PostgreSQL maintenance URL, or '' when this run has none (see vitest.config.ts). */
export const postgresUrl = (): string => inject('postgresUrl') ?? '';

export interface TestDatabase {
  /** URL of the new, empty database. */
  url: string;
  name: string;
  /** Drops the database, ending any session still on it; safe to call twice. */
  drop(): Promise<void>;
}

const withMaintenance = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
};

/** A fresh database of its own in the run's cluster (a copy of template1: fast, no data). */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!postgresUrl()) throw new Error('this run has no PostgreSQL cluster');
  const name = `test_${randomBytes(6).toString('hex')}`;
  await withMaintenance((c) => c.query(`CREATE DATABASE ${name} TEMPLATE template1`));
  const url = new URL(postgresUrl());
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    name,
    drop: () =>
      (dropped ??= withMaintenance(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      })),
  };
}
