import fs from 'node:fs';
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

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [
      ...configDefaults.exclude,
      ...(runBrowserTests ? [] : ['test/browser/**']),
      ...(runPostgresTests ? [] : ['test/postgres/**']),
    ],
    globalSetup: runPostgresTests ? ['test/helpers/postgres-global.ts'] : [],
    // Native SQLite bindings and real sockets: one process per file keeps them apart.
    pool: 'forks',
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default'],
  },
});
