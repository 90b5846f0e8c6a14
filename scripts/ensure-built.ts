/**
 * dist/ as `npm start` and the `taskhub` binary run it, rebuilt only when a source is newer than the last build:
 * the tests and the bench run the real entry point without ever running a stale one.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = path.join(ROOT, 'dist', '.built');
const LOCK = path.join(ROOT, '.build.lock');
/** What the build reads: a change to any of these makes dist/ stale. */
const INPUTS = [
  'src',
  'packages/sdk/src',
  'packages/sdk/package.json',
  'packages/sdk/tsconfig.json',
  'scripts/build.mjs',
  'scripts/build-sdk.mjs',
  'package.json',
  'tsconfig.json',
];

function newestInput(): number {
  let newest = 0;
  for (const input of INPUTS) {
    const full = path.join(ROOT, input);
    const files = fs.statSync(full).isDirectory()
      ? fs.readdirSync(full, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))
      : [full];
    for (const file of files) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

const isFresh = () => fs.existsSync(STAMP) && fs.statSync(STAMP).mtimeMs >= newestInput();

/**
 * Builds dist/ (with the SDK's dist/ and the dashboard's public/js/) with `npm run build`'s script unless it is
 * newer than every source, so that tests and the
 * bench run the real binary without ever running a stale one. A lock directory keeps test files running in
 * parallel from building over each other.
 */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (!isFresh()) {
    try {
      fs.mkdirSync(LOCK);
    } catch {
      if (Date.now() > deadline) throw new Error(`waited too long for ${LOCK}; remove it if no build is running`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    try {
      if (isFresh()) return;
      const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
    } finally {
      fs.rmSync(LOCK, { recursive: true, force: true });
    }
  }
}
