import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config.js';

/** Characters a secret file must hold at least (after trimming), the same floor as `TASKHUB_JWT_SECRET`. */
export const MIN_SECRET_CHARS = 16;

/**
 * Creates `file` holding `content`, or leaves the one another process made first. The content goes to a temp file
 * that is fsynced and then linked into place: a crash or a full disk can leave a stray temp file, never a short
 * or empty `file`, and `link` (unlike `rename`) refuses to replace a file that appeared meanwhile.
 * @returns true if this call created the file, false if it was already there.
 */
export function writeFileAtomicOnce(file: string, content: string, mode = 0o600): boolean {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(temp, 'wx', mode);
    try {
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    syncDirectory(path.dirname(file));
    return true;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Makes the new directory entry durable; some filesystems cannot fsync a directory, which is not an error here. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Best effort: the file itself is already fsynced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The trimmed secret in `file`, or undefined when there is none. @throws ConfigError when it is too short. */
function readSecretFile(file: string): string | undefined {
  let secret: string;
  try {
    secret = fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (secret.length < MIN_SECRET_CHARS) {
    throw new ConfigError(
      `The secret file ${file} holds ${secret.length} characters; at least ${MIN_SECRET_CHARS} are needed. ` +
        'Remove it to have a new secret generated (this revokes every token), or put the old secret back.',
    );
  }
  return secret;
}

/**
 * The HS256 secret: the configured one, else the one generated into `<dataDir>/jwt.secret` (mode 0600) on the
 * first start and read back on every later one, so tokens survive restarts.
 * @throws ConfigError naming the file when it holds fewer than `MIN_SECRET_CHARS` characters (an empty file would
 *   otherwise let anyone sign admin tokens).
 */
export function loadOrCreateSecret(dataDir: string, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  const file = path.join(dataDir, 'jwt.secret');
  const existing = readSecretFile(file);
  if (existing !== undefined) return existing;
  const secret = randomBytes(32).toString('base64url');
  // Another process may have created the file meanwhile; then that one's secret wins.
  if (writeFileAtomicOnce(file, `${secret}\n`)) return secret;
  return readSecretFile(file) as string;
}

/** Writes `token` to `<dataDir>/admin.token` (mode 0600) unless one is there; returns the path if it wrote. */
export function writeAdminTokenOnce(dataDir: string, token: string): string | undefined {
  const file = path.join(dataDir, 'admin.token');
  return writeFileAtomicOnce(file, `${token}\n`) ? file : undefined;
}
