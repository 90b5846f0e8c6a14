import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** How long the backup's read waits for a lock the hub holds (it rarely needs to: WAL readers do not block), ms. */
export const BACKUP_BUSY_TIMEOUT_MS = 5000;
/** The name of the database file in a data dir. */
export const DATABASE_FILE = 'taskhub.db';

export interface BackupResult {
  /** The finished copy. */
  file: string;
  /** Pages copied (of `PRAGMA page_size` bytes each). */
  pages: number;
  bytes: number;
}

/**
 * Copies the SQLite database at `source` into `target`, online: the hub may keep writing meanwhile, and the copy
 * is the database as it was at one instant. Uses SQLite's backup API through its own better-sqlite3 connection
 * (so it depends on nothing but the file), copying every page in one step: a step is one read transaction, and a
 * backup spread over several steps would start over each time the hub writes in between. The copy is written to
 * `<target>.partial`, checked with `PRAGMA quick_check`, and only then renamed to `target`, so `target` is never
 * half a database.
 * @throws when `source` does not exist, `target` exists (unless `overwrite`), or the copy fails its check.
 */
export async function backupDatabase(source: string, target: string, options: { overwrite?: boolean } = {}): Promise<BackupResult> {
  const file = path.resolve(target);
  if (!options.overwrite && fs.existsSync(file)) throw new Error(`${file} exists; choose another name or overwrite it.`);
  const partial = `${file}.partial`;
  fs.rmSync(partial, { force: true });
  const db = new Database(source, { fileMustExist: true, readonly: true, timeout: BACKUP_BUSY_TIMEOUT_MS });
  try {
    const progress = await db.backup(partial, { progress: () => 0x7fffffff });
    verify(partial);
    fs.renameSync(partial, file);
    return { file, pages: progress.totalPages, bytes: fs.statSync(file).size };
  } catch (error) {
    fs.rmSync(partial, { force: true });
    throw error;
  } finally {
    db.close();
  }
}

function verify(file: string): void {
  const copy = new Database(file, { fileMustExist: true });
  try {
    const result = copy.pragma('quick_check', { simple: true });
    if (result !== 'ok') throw new Error(`the copy failed its check: ${String(result)}`);
    // The copy keeps the source's WAL mode; fold everything into the one file so it can be moved alone.
    copy.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    copy.close();
  }
}
