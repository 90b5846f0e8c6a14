import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
const sourceDir = path.join(root, 'src/dashboard');
const builtDir = path.join(root, 'public/js');

function files(dir: string, ext: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .sort();
}

beforeAll(ensureBuilt, 180_000);

describe('dashboard build', () => {
  it('public/js is built by `npm run build` from src/dashboard, and not committed', () => {
    expect(execFileSync('git', ['ls-files', 'public/js'], { cwd: root, encoding: 'utf8' })).toBe('');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-dashboard-'));
    try {
      const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
      execFileSync(process.execPath, [tsc, '-p', path.join(sourceDir, 'tsconfig.json'), '--outDir', out], { stdio: 'pipe' });
      const expected = files(out, '.js');
      expect(files(builtDir, '.js')).toEqual(expected);
      for (const file of expected) {
        expect(fs.readFileSync(path.join(builtDir, file), 'utf8'), `public/js/${file} is stale`).toBe(
          fs.readFileSync(path.join(out, file), 'utf8'),
        );
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('never parses text as HTML: no innerHTML, outerHTML, insertAdjacentHTML or document.write', () => {
    const offenders = files(sourceDir, '.ts').filter((f) =>
      /\.(innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write|\beval\(|new Function\(/.test(fs.readFileSync(path.join(sourceDir, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
