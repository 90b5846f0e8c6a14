// Builds the SDK workspace package (packages/sdk) into packages/sdk/dist: JavaScript and declarations, by tsc.
// Run by `npm run build` (first: the server and the dashboard import its wire types) and by the package's own
// `npm run build` / `npm pack`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const sdk = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../packages/sdk');
fs.rmSync(path.join(sdk, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const { status } = spawnSync(process.execPath, [tsc, '-p', path.join(sdk, 'tsconfig.json')], { stdio: 'inherit' });
if (status !== 0) process.exit(status ?? 1);
console.log('built packages/sdk/dist/');
