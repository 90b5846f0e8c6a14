import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addAgent, as } from '../helpers/api.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { makeDataDir, startTestHub, type TestHub } from '../helpers/hub.js';

const hubs: TestHub[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.stop();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
beforeAll(() => ensureBuilt(), 180_000);

const PAYLOAD = { text: 'x'.repeat(2000) };

describe('taskhub backup FILE', () => {
  it('copies the database consistently while the hub writes, and a hub starts on the copy', async () => {
    const hub = await startTestHub({ TASKHUB_RATE_LIMIT: '0' });
    hubs.push(hub);
    const worker = await addAgent(hub, 'worker');
    const boss = await addAgent(hub, 'boss');
    const create = async () => {
      const res = await boss.post('/api/tasks', { target: 'worker', task: 'load', payload: PAYLOAD });
      expect(res.status).toBe(201);
    };
    for (let i = 0; i < 100; i++) await Promise.all(Array.from({ length: 20 }, create)); // ~2,000 tasks, ~5 MB

    // Writers keep going for the whole backup; count what was answered before it began and after it ended.
    let answered = 0;
    let writing = true;
    const writers = Array.from({ length: 8 }, async () => {
      while (writing) {
        await create();
        answered += 1;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = 2000 + answered;
    const backupDir = makeDataDir();
    dirs.push(backupDir);
    const file = path.join(backupDir, 'taskhub.db');
    const result = await runCli(['backup', file, '--data-dir', hub.dataDir]);
    const duringBackup = 2000 + answered - before;
    writing = false;
    await Promise.all(writers);
    const after = 2000 + answered;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^backed up \d+ pages \(\d+ bytes\) to /);
    expect(duringBackup).toBeGreaterThan(0);
    expect(fs.readdirSync(backupDir)).toEqual(['taskhub.db']);

    // A second backup to the same name is refused rather than overwriting it.
    const again = await runCli(['backup', file, '--data-dir', hub.dataDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists/);

    // Restore: the copy as taskhub.db beside the hub's secret (tokens stay valid).
    fs.copyFileSync(path.join(hub.dataDir, 'jwt.secret'), path.join(backupDir, 'jwt.secret'));
    const restored = await startTestHub({}, backupDir);
    hubs.push(restored);
    const stats = (await as(restored, restored.adminToken).get('/api/stats')).body;
    // Each creation is one task and one event in one transaction: a torn copy would show them apart.
    const total = stats.tasks.assigned as number;
    expect(stats.events.lastId).toBe(total);
    expect(total).toBeGreaterThanOrEqual(before);
    expect(total).toBeLessThanOrEqual(after);
    const pending = await as(restored, worker.token).get('/api/tasks/pending?limit=1');
    expect(pending.status).toBe(200);
    expect(pending.body.tasks[0].payload).toEqual(PAYLOAD);
  }, 120_000);

  it('says so when there is no database to copy', async () => {
    const empty = makeDataDir();
    dirs.push(empty);
    const result = await runCli(['backup', path.join(empty, 'copy.db'), '--data-dir', empty]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^taskhub: backup of .*taskhub\.db failed/);
    expect(fs.readdirSync(empty)).toEqual([]);
  });
});
