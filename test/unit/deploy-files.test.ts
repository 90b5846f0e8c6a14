import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const UNIT = path.join(ROOT, 'docs/deploy/taskhub.service');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: { taskhub: string } };
const hasSystemd = spawnSync('systemd-analyze', ['--version']).status === 0 && fs.existsSync('/usr/bin/node');

describe('docs/deploy/taskhub.service', () => {
  it('starts the compiled CLI the package declares, with the data dir it makes writable', () => {
    const unit = fs.readFileSync(UNIT, 'utf8');
    expect(unit).toContain(`ExecStart=/usr/bin/node /opt/taskhub/${pkg.bin.taskhub} serve`);
    expect(unit).toMatch(/^Environment=TASKHUB_DATA_DIR=\/var\/lib\/taskhub$/m);
    expect(unit).toMatch(/^ReadWritePaths=\/var\/lib\/taskhub$/m);
  });

  it.skipIf(!hasSystemd)('passes systemd-analyze verify', () => {
    // The unit names /opt/taskhub; point it at this checkout so that verify checks a command that exists.
    const dir = fs.mkdtempSync(path.join(ROOT, '.unit-'));
    try {
      const unit = fs.readFileSync(UNIT, 'utf8').replaceAll('/opt/taskhub', ROOT);
      fs.writeFileSync(path.join(dir, 'taskhub.service'), unit);
      const verify = spawnSync('systemd-analyze', ['verify', path.join(dir, 'taskhub.service')], { encoding: 'utf8' });
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
