import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../../helpers/api.js';
import { makeDataDir, startTestHub } from '../../helpers/hub.js';

const dirs: string[] = [];
const dataDir = () => {
  const dir = makeDataDir();
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the generated jwt.secret (issue 15, item 1)', () => {
  it.each([
    ['an empty file (a start that hit ENOSPC)', ''],
    ['a short file', 'abc\n'],
    ['whitespace only', '   \n\n'],
  ])('refuses to start on %s, naming the file', async (_what, content) => {
    const dir = dataDir();
    const file = path.join(dir, 'jwt.secret');
    fs.writeFileSync(file, content, { mode: 0o600 });
    await expect(startTestHub({}, dir)).rejects.toThrow(`The secret file ${file} holds`);
    // The file is left for the operator to look at, not replaced by a new secret that would revoke every token.
    expect(fs.readFileSync(file, 'utf8')).toBe(content);
  });

  it('writes a new secret whole, leaving no temp file beside it, and reads it back on the next start', async () => {
    const dir = dataDir();
    const first = await startTestHub({}, dir);
    await first.stop({ keepData: true });
    const secret = fs.readFileSync(path.join(dir, 'jwt.secret'), 'utf8');
    expect(secret.trim().length).toBeGreaterThanOrEqual(32);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const second = await startTestHub({}, dir);
    try {
      // The tokens' signatures differ whenever the two starts fall in different seconds (`iat`), so the check is
      // that the second hub accepts what the first one signed.
      const res = await call(second, first.adminToken, 'GET', '/api/agents');
      expect(res.status).toBe(200);
    } finally {
      await second.stop();
    }
  });
});
