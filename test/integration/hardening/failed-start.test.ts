import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHub } from '../../../src/hub/index.js';
import { createSqliteStore } from '../../../src/store/sqlite/index.js';
import { addAgent } from '../../helpers/api.js';
import { ensureBuilt, runCli, type CliResult } from '../../helpers/cli.js';
import { makeDataDir, startTestHub, type TestHub } from '../../helpers/hub.js';
import { rawStream } from '../../helpers/raw-stream.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

/** A real TCP server holding a port, as another program would. */
async function occupyPort(): Promise<number> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as net.AddressInfo).port;
}

/** Runs `taskhub serve` to its exit, killing it (and failing) if it is still running after `ms`. */
async function serveUntilExit(args: string[], env: Record<string, string>, ms = 10_000): Promise<CliResult & { ms: number }> {
  const dir = makeDataDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    runCli(['serve', '--data-dir', dir, ...args], { LOG_LEVEL: 'silent', ...env }),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`serve still running after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
  return { ...result, ms: Date.now() - started };
}

describe('a failed start (issue 15, item 7)', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('exits at once, naming PORT, when the HTTP port is taken', async () => {
    const port = await occupyPort();
    const result = await serveUntilExit(['--port', String(port)], { TASKHUB_SMTP_PORT: '0' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`PORT=${port}: 127.0.0.1:${port} is already in use`);
  });

  it('exits at once, naming TASKHUB_SMTP_PORT, when the SMTP port is taken', async () => {
    const port = await occupyPort();
    const result = await serveUntilExit(['--port', '0'], { TASKHUB_SMTP_PORT: String(port) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`TASKHUB_SMTP_PORT=${port}: 127.0.0.1:${port} is already in use`);
  });

  it('in-process, releases the SMTP listener, timers and database so the same ports can be used again', async () => {
    const port = await occupyPort();
    const dir = makeDataDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    await expect(startTestHub({ PORT: String(port) }, dir)).rejects.toThrow(/^PORT=/);
    // The handle check of test/helpers/setup.ts fails this file if the SMTP listener or a timer stayed open; the
    // database must be closed too, or this second start on the same file would see it locked.
    const hub = await startTestHub({}, dir);
    await hub.stop();
  });
});

describe('background failures (issue 15, item 7)', () => {
  it('reports a failing event prune instead of throwing from a bare timer', async () => {
    const dir = makeDataDir();
    const file = path.join(dir, 'taskhub.db');
    const store = createSqliteStore(file);
    let clock = Date.now();
    const failures: Array<{ error: unknown; what: string }> = [];
    const hub = createHub(store, {
      secret: 'x'.repeat(32),
      leaseSeconds: 60,
      maxAttempts: 3,
      eventRetentionDays: 7,
      now: () => clock,
      pruneIntervalMs: 20,
      onBackgroundError: (error, what) => failures.push({ error, what }),
    });
    cleanups.push(async () => {
      await hub.stop();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await hub.agents.create({ name: 'admin', role: 'admin' }, { name: 'a' });
    await hub.tasks.create({ name: 'a', role: 'agent' }, { target: 'a', task: 'old' });
    clock += 8 * 24 * 3600 * 1000;
    // Another process breaks what the prune writes to (a real SQLite error, as SQLITE_BUSY would be).
    const other = new Database(file);
    other.exec('ALTER TABLE event_recipients RENAME TO event_recipients_away');
    try {
      await expect.poll(() => failures.length, { timeout: 5000 }).toBeGreaterThan(0);
    } finally {
      // The prune retries every 20 ms, each time holding the write lock for a moment: on a loaded machine the
      // other connection's busy handler kept missing the moments between, and the rename back timed out. With the
      // hub stopped, the lock is free.
      await hub.stop();
      other.exec('ALTER TABLE event_recipients_away RENAME TO event_recipients');
      other.close();
    }
    expect(failures[0]!.what).toBe('event prune');
    expect(String(failures[0]!.error)).toMatch(/no such table/);
  });
});

describe('a stream whose replay fails (issue 15, item 7)', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  it('is closed and unregistered: the agent does not stay "connected"', async () => {
    hub = await startTestHub();
    const worker = await addAgent(hub, 'worker');
    await worker.post('/api/tasks', { target: 'worker', task: 'one' });
    const other = new Database(path.join(hub.dataDir, 'taskhub.db'));
    other.exec('ALTER TABLE event_recipients RENAME TO event_recipients_away');
    const stream = rawStream(hub.url, worker.token, { lastEventId: '0' });
    try {
      await expect.poll(() => stream.text(), { timeout: 5000 }).toContain('event: ready');
      // The hub ends the response it could not finish.
      await expect.poll(() => stream.text(), { timeout: 5000 }).toMatch(/\r\n0\r\n\r\n$/);
    } finally {
      other.exec('ALTER TABLE event_recipients_away RENAME TO event_recipients');
      other.close();
    }
    expect((await worker.get('/api/agents/worker')).body.agent).toMatchObject({ connected: false, streams: 0 });
    stream.close();
  });
});

describe('a rate-limit unit (issue 15, item 7)', () => {
  it('is given back when the creation it paid for rolls back', async () => {
    const dir = makeDataDir();
    const store = createSqliteStore(path.join(dir, 'taskhub.db'));
    const hub = createHub(store, { secret: 'x'.repeat(32), leaseSeconds: 60, maxAttempts: 3, eventRetentionDays: 7, rateLimit: 1 });
    cleanups.push(async () => {
      await hub.stop();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await hub.agents.create({ name: 'admin', role: 'admin' }, { name: 'a' });
    const actor = { name: 'a', role: 'agent' } as const;
    // A payload that cannot be stored makes the insert throw after the unit was spent.
    const unstorable = { toJSON: () => { throw new Error('cannot store this'); } };
    await expect(hub.tasks.create(actor, { target: 'a', task: 'x', payload: unstorable })).rejects.toThrow('cannot store this');
    expect((await hub.tasks.create(actor, { target: 'a', task: 'y' })).created).toBe(true);
    await expect(hub.tasks.create(actor, { target: 'a', task: 'z' })).rejects.toThrow(/Rate limit/);
  });
});
