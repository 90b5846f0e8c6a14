import fs from 'node:fs';
import path from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';
import { findPostgresBinDir } from './test/helpers/postgres-cluster.js';

// The dashboard's tests need Debian's Chromium. CI installs it and always runs them; on a machine without it they
// are left out with a notice, so that `npm ci && npm test` still passes on a fresh checkout.
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const runBrowserTests = fs.existsSync(chromium) || process.env.CI === 'true';
if (!runBrowserTests) {
  console.warn(`\n[taskhub] Browser tests skipped: no Chromium at ${chromium} (apt-get install -y chromium).\n`);
}

// The same for PostgreSQL: with it (or with CI=true, where a missing one fails the run) one throwaway cluster serves
// the whole run; without it the PostgreSQL-only files are left out and the store suites run on SQLite alone.
const runPostgresTests = findPostgresBinDir() !== undefined || process.env.CI === 'true';
if (!runPostgresTests) {
  console.warn('\n[taskhub] PostgreSQL tests skipped: no initdb/postgres found (apt-get install -y postgresql).\n');
}

// What every project shares. Native SQLite bindings and real sockets: one process per file keeps them apart.
const shared = {
  pool: 'forks' as const,
  setupFiles: ['test/helpers/setup.ts'],
  testTimeout: 20_000,
  hookTimeout: 20_000,
};

/**
 * The hub's integration tests that run a second time with every test hub on PostgreSQL (TASKHUB_TEST_STORE). The
 * whole integration suite would double the run on 2 cores; these cover every path through the store: tasks, their
 * transitions and batched reports, rpc (alone and batched) and its cleanup, events and replay, leases and the sweeper, messages and
 * their mail, agents, rate limits, email delivery from the outbox, webhooks and their delivery. Left out: files that
 * read SQLite rows or files directly or test SQLite's group commit (commit-failure, durability, email-delivery's
 * row checks, email-inbound, which reads the generated secret from the data dir), auth (that
 * secret, which PostgreSQL replaces with a required TASKHUB_JWT_SECRET), shutdown (hubs started as `npm start`,
 * on SQLite; test/postgres/ has PostgreSQL's own process tests), and fronts that add no store path (cli, mcp,
 * sdk-*, dashboard, bench-smoke).
 */
export const POSTGRES_INTEGRATION_FILES = [
  'test/integration/tasks.test.ts',
  'test/integration/rpc.test.ts',
  'test/integration/events.test.ts',
  'test/integration/leases.test.ts',
  'test/integration/agents.test.ts',
  'test/integration/messages.test.ts',
  'test/integration/rate-limit.test.ts',
  'test/integration/email-outbound.test.ts',
  'test/integration/http.test.ts',
  'test/integration/webhooks-delivery.test.ts',
  'test/integration/task-reports.test.ts',
  'test/integration/sweeper.test.ts',
  'test/integration/rpc-cleanup.test.ts',
  'test/integration/webhooks-routes.test.ts',
  'test/integration/messages-email.test.ts',
  'test/integration/observability.test.ts',
  'test/integration/rpcs.test.ts',
];

// Tests run the SDK from its sources, as tsconfig.json's paths do for the typecheck and tsx.
const sdk = (file: string) => path.resolve(import.meta.dirname, 'packages/sdk/src', file);

// Each project repeats it: an inline project takes none of the root's options (vitest 4) unless it `extends`, which
// would also repeat the root's globalSetup (a second PostgreSQL cluster).
const resolve = {
  alias: [
    { find: /^@taskhub\/sdk$/, replacement: sdk('index.ts') },
    { find: /^@taskhub\/sdk\/wire$/, replacement: sdk('wire.ts') },
    { find: /^@taskhub\/sdk\/webhooks$/, replacement: sdk('webhooks.ts') },
  ],
};

export default defineConfig({
  resolve,
  test: {
    globalSetup: runPostgresTests ? ['test/helpers/postgres-global.ts'] : [],
    reporters: ['default'],
    // One cluster (the root globalSetup) serves both projects.
    projects: [
      {
        resolve,
        test: {
          ...shared,
          name: 'sqlite',
          include: ['test/**/*.test.ts'],
          exclude: [
            ...configDefaults.exclude,
            ...(runBrowserTests ? [] : ['test/browser/**']),
            ...(runPostgresTests ? [] : ['test/postgres/**']),
          ],
        },
      },
      ...(runPostgresTests
        ? [{ resolve, test: { ...shared, name: 'postgres', include: POSTGRES_INTEGRATION_FILES, env: { TASKHUB_TEST_STORE: 'postgres' } } }]
        : []),
    ],
  },
});
