import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { OPEN_STATUSES, TASK_STATUSES } from '../../src/domain/task-status.js';
import { createSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { sqlList } from '../../src/store/sqlite/sql.js';
import { DEADLINE_INDEX_WHERE } from '../../src/store/sqlite/tasks.js';
import { OUTBOX_STATUSES } from '../../src/store/store.js';

// The status lists written out in the migrations must be the domain's: a status added to the domain and not to
// the schema (or the other way round) fails here.
let dir: string;
let store: SqliteStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-schema-'));
  store = createSqliteStore(path.join(dir, 'taskhub.db'));
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The CREATE statement of a table or index, with its whitespace collapsed. */
const sqlOf = (name: string) =>
  String(store.db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').pluck().get(name)).replace(/\s+/g, ' ');

it('keeps the partial index of open deadlines on exactly the WHERE the store queries it with', () => {
  expect(sqlOf('tasks_by_deadline')).toMatch(new RegExp(`WHERE ${escape(DEADLINE_INDEX_WHERE)}$`));
  // SQLite can use a partial index only for a query whose WHERE implies the index's; forced to use it
  // (INDEXED BY, as the store does) it refuses to prepare a query that cannot.
  const plan = store.db
    .prepare(`EXPLAIN QUERY PLAN SELECT * FROM tasks INDEXED BY tasks_by_deadline
      WHERE ${DEADLINE_INDEX_WHERE} AND deadline <= 5 ORDER BY deadline`)
    .all() as { detail: string }[];
  expect(plan.map((p) => p.detail).join('\n')).toContain('tasks_by_deadline');
  expect(() => store.db.prepare(`SELECT * FROM tasks INDEXED BY tasks_by_deadline WHERE deadline IS NOT NULL`)).toThrow(
    /no query solution/,
  );
});

it('lists an assigner\'s tasks newest first from tasks_by_assigner, which a change of status does not touch', () => {
  const planOf = (sql: string) =>
    (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('boss', 'completed') as { detail: string }[]).map((p) => p.detail).join('\n');
  // No status in the key: a claim or a completion leaves the assigner's index entry where it is.
  expect(sqlOf('tasks_by_assigner')).toBe('CREATE INDEX tasks_by_assigner ON tasks (assigner, seq)');
  for (const sql of [
    'SELECT * FROM tasks WHERE assigner = ? AND status = ? ORDER BY seq DESC LIMIT 10',
    'SELECT * FROM tasks WHERE assigner = ? AND status <> ? ORDER BY seq DESC LIMIT 10',
  ]) {
    const plan = planOf(sql);
    expect(plan).toContain('tasks_by_assigner');
    expect(plan).not.toContain('TEMP B-TREE');
  }
});

it('checks task and outbox statuses against the domain lists', () => {
  expect(sqlOf('tasks')).toContain(`CHECK (status IN (${sqlList(TASK_STATUSES)}))`);
  expect(sqlOf('outbox')).toContain(`CHECK (status IN (${sqlList(OUTBOX_STATUSES)}))`);
  expect(sqlOf('outbox_due')).toMatch(/WHERE status = 'queued'$/);
  expect(sqlOf('agents_open_tasks_on_insert')).toContain(`t.status IN (${sqlList(OPEN_STATUSES)})`);
});

it('counts every agent\'s open tasks when migration 008 upgrades a database that has tasks', async () => {
  // A database as version 007 left it, with tasks in it, then opened by this version's store.
  const file = path.join(dir, 'upgraded.db');
  const old = new Database(file);
  const migrations = path.resolve(import.meta.dirname, '../../src/store/sqlite/migrations');
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
  for (const name of fs.readdirSync(migrations).filter((f) => /^00[1-7]_/.test(f)).sort()) {
    old.exec(fs.readFileSync(path.join(migrations, name), 'utf8'));
    old.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(Number(name.slice(0, 3)), name);
  }
  for (const name of ['w1', 'w2', 'idle']) {
    old.prepare("INSERT INTO agents (name, capabilities, created_at) VALUES (?, '[\"ocr\"]', 0)").run(name);
    old.prepare("INSERT INTO agent_capabilities VALUES ('ocr', ?)").run(name);
  }
  const statuses = { w1: ['assigned', 'claimed', 'completed', 'failed'], w2: ['in_progress', 'cancelled'] };
  for (const [target, list] of Object.entries(statuses)) {
    for (const status of list) {
      old.prepare(`INSERT INTO tasks (id, kind, task, priority, status, assigner, target, created_at, updated_at)
        VALUES (?, 'task', 't', 1, ?, 'boss', ?, 0, 0)`).run(`${target}-${status}`, status, target);
    }
  }
  old.close();
  const upgraded = createSqliteStore(file);
  try {
    const counts = Object.fromEntries((await upgraded.agents.routingCandidates('ocr')).map((c) => [c.name, c.openTasks]));
    expect(counts).toEqual({ w1: 2, w2: 1, idle: 0 });
  } finally {
    await upgraded.close();
  }
});

it('counts the open tasks again at every open, putting right what a writer that does not keep them left', async () => {
  await store.agents.insert({ name: 'w', capabilities: ['ocr'], email: null, description: null, createdAt: 0 });
  await store.tasks.insert({ id: 't1', kind: 'task', task: 't', payload: null, capability: null, priority: 1,
    assigner: 'boss', target: 'w', deadline: null, idempotencyKey: null, createdAt: 0 });
  // What a hub of a version before migration 008 does: it moves tasks without touching the count.
  store.db.prepare('UPDATE agents SET open_tasks = 7').run();
  expect((await store.agents.routingCandidates('ocr'))[0]?.openTasks).toBe(7);
  await store.close();
  store = createSqliteStore(path.join(dir, 'taskhub.db'));
  expect((await store.agents.routingCandidates('ocr'))[0]?.openTasks).toBe(1);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
