import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { OPEN_TASKS_OF_AGENT } from './sql.js';

export type Db = Database.Database;

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Opens (creating if needed) the SQLite file in WAL mode with synchronous NORMAL: a committed transaction
 * survives a crash of the process, and the last few may be lost only on power loss.
 */
export function openDatabase(file: string): Db {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Another process on the same file (a second instance, a CLI) may hold the write lock: migrations wait for it
  // here, at startup. Afterwards the group commit waits for the lock on timers (WRITE_LOCK_WAIT_MS), so that a
  // lock held elsewhere never blocks this event loop.
  db.pragma('busy_timeout = 5000');
  migrate(db);
  recountOpenTasks(db);
  db.pragma('busy_timeout = 0');
  return db;
}

/**
 * Counts every agent's open tasks again (the figure routing reads, migration 008). The store keeps it in the
 * statements that move tasks; a hub of a version before 008 on the same file would not, and this puts right at
 * the next start whatever it left. One index seek per agent and open status, once per open; only a row whose
 * count was wrong is written.
 */
function recountOpenTasks(db: Db): void {
  db.prepare(
    `UPDATE agents SET open_tasks = ${OPEN_TASKS_OF_AGENT} WHERE open_tasks IS NOT ${OPEN_TASKS_OF_AGENT}`,
  ).run();
}

/** How long the reader connection waits in the rare moment a WAL reader must (the WAL being reset), ms. */
export const READER_BUSY_TIMEOUT_MS = 1000;

/**
 * A second, read-only connection to an open database (WAL lets it read while the writer's batch is open): every
 * statement on it sees the last committed state, never a batch still open on the writer.
 */
export function openReader(file: string): Db {
  const db = new Database(file, { readonly: true });
  // A WAL reader waits only in rare moments (the WAL being reset after a checkpoint); waiting briefly beats failing.
  db.pragma(`busy_timeout = ${READER_BUSY_TIMEOUT_MS}`);
  return db;
}

/** Applies every numbered `NNN_name.sql` not applied yet, each in its own transaction, in order. */
export function migrate(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const applied = new Set(
    db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[],
  );
  const files = fs.readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
  for (const file of files) {
    const version = Number(file.slice(0, 3));
    if (applied.has(version)) continue;
    const sql = fs.readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        version,
        file,
        Date.now(),
      );
    }).immediate();
  }
}
