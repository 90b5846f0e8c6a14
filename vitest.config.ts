import fs from 'node:fs';
import path from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

// The dashboard's tests need Debian's Chromium. CI installs it and always runs them; on a machine without it they
// are left out with a notice, so that `npm ci && npm test` still passes on a fresh checkout.
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const runBrowserTests = fs.existsSync(chromium) || process.env.CI === 'true';
if (!runBrowserTests) {
  console.warn(`\n[taskhub] Browser tests skipped: no Chromium at ${chromium} (apt-get install -y chromium).\n`);
}

// Tests run the SDK from its sources, as tsconfig.json's paths do for the typecheck and tsx.
const sdk = (file: string) => path.resolve(import.meta.dirname, 'packages/sdk/src', file);

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@taskhub\/sdk$/, replacement: sdk('index.ts') },
      { find: /^@taskhub\/sdk\/wire$/, replacement: sdk('wire.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(runBrowserTests ? [] : ['test/browser/**'])],
    // Native SQLite bindings and real sockets: one process per file keeps them apart.
    pool: 'forks',
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default'],
  },
});
