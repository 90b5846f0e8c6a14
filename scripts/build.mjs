// `npm run build`: a clean dist/ from src/ — tsc for the JavaScript, tsc again for the SDK's declarations (the
// package exports only the SDK as a library; the server's inferred types cannot all be named in a .d.ts), then
// every other file under src/ (the SQL migrations) copied to the same place in dist/, so that
// `node dist/cli/main.js serve` finds them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
for (const config of ['tsconfig.build.json', 'tsconfig.client.json']) {
  const { status } = spawnSync(process.execPath, [tsc, '-p', path.join(root, config)], { stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
}

// The dashboard's browser code is built on its own into public/js/; nothing of it belongs in dist/.
const skipped = [path.join(src, 'dashboard')];
let copied = 0;
for (const entry of fs.readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
  if (skipped.some((dir) => entry.parentPath === dir || entry.parentPath.startsWith(dir + path.sep))) continue;
  const from = path.join(entry.parentPath, entry.name);
  const to = path.join(dist, path.relative(src, from));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  copied += 1;
}
fs.chmodSync(path.join(dist, 'cli', 'main.js'), 0o755);
// Tests that spawn the built CLI compare this stamp with the sources to know whether to build first.
fs.writeFileSync(path.join(dist, '.built'), `${new Date().toISOString()}\n`);
console.log(`built dist/ (${copied} non-TypeScript file${copied === 1 ? '' : 's'} copied)`);
