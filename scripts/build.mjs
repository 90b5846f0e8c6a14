// `npm run build` (also run by `npm ci`, as `prepare`), in order:
// 1. the SDK workspace package (packages/sdk/dist), which the server and the dashboard import;
// 2. a clean dist/ from src/ by esbuild (file by file, no bundling: a transpile without type checking, which
//    `npm run typecheck` and the tests do; a second where tsc took eight), with a declaration for `taskhub/client`,
//    which re-exports the SDK (the server itself is not a library: its inferred types cannot all be named in a
//    .d.ts), and every other file under src/ (the SQL migrations) copied beside, so `dist/cli/main.js serve` runs;
// 3. the dashboard's browser code into public/js/ (tsc; built here, not committed).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

// The dashboard's browser code is built on its own into public/js/; nothing of it belongs in dist/.
const skipped = [path.join(src, 'dashboard')];
const isSkipped = (dir) => skipped.some((s) => dir === s || dir.startsWith(s + path.sep));

const run = (args) => {
  const { status } = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
};
run([path.join(root, 'scripts/build-sdk.mjs')]);

fs.rmSync(dist, { recursive: true, force: true });
const sources = fs
  .readdirSync(src, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !isSkipped(e.parentPath))
  .map((e) => path.join(e.parentPath, e.name));
await esbuild.build({
  entryPoints: sources,
  outdir: dist,
  outbase: src,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
fs.writeFileSync(path.join(dist, 'client', 'index.d.ts'), "export * from '@taskhub/sdk';\n");

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
fs.rmSync(path.join(root, 'public', 'js'), { recursive: true, force: true });
run([tsc, '-p', path.join(src, 'dashboard', 'tsconfig.json')]);
let copied = 0;
for (const entry of fs.readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
  if (isSkipped(entry.parentPath)) continue;
  const from = path.join(entry.parentPath, entry.name);
  const to = path.join(dist, path.relative(src, from));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  copied += 1;
}
fs.chmodSync(path.join(dist, 'cli', 'main.js'), 0o755);
// Tests that spawn the built CLI compare this stamp with the sources to know whether to build first.
fs.writeFileSync(path.join(dist, '.built'), `${new Date().toISOString()}\n`);
console.log(`built dist/ (${copied} non-TypeScript file${copied === 1 ? '' : 's'} copied) and public/js/`);
