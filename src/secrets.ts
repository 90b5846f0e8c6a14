import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The HS256 secret: the configured one, else the one generated into `<dataDir>/jwt.secret` (mode 0600) on the
 * first start and read back on every later one, so tokens survive restarts.
 */
export function loadOrCreateSecret(dataDir: string, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  const file = path.join(dataDir, 'jwt.secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  // 'wx' fails if another process created the file meanwhile; then that one's secret wins.
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return fs.readFileSync(file, 'utf8').trim();
  }
}

/** Writes `token` to `<dataDir>/admin.token` (mode 0600) unless one is there; returns the path if it wrote. */
export function writeAdminTokenOnce(dataDir: string, token: string): string | undefined {
  const file = path.join(dataDir, 'admin.token');
  try {
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return file;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
}
