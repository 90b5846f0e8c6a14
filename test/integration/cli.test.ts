import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TaskhubClient } from '../../src/client/index.js';
import { BIN, ensureBuilt, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { makeDataDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { startProxy } from '../helpers/proxy.js';

let hub: TestHub;
let admin: TaskhubClient;
const running: RunningCli[] = [];
const WAIT = { timeout: 15_000, interval: 50 };

beforeAll(ensureBuilt, 180_000);
beforeEach(async () => {
  hub = await startTestHub();
  admin = new TaskhubClient({ url: hub.url, token: hub.adminToken });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop('SIGKILL')));
  await hub.stop();
});

const as = (token: string) => ({ TASKHUB_URL: hub.url, TASKHUB_TOKEN: token });
const asAdmin = () => as(hub.adminToken);

async function agentToken(name: string, capabilities: string[] = []): Promise<string> {
  return (await admin.createAgent({ name, capabilities })).token;
}

function spawnCli(args: string[], env: Record<string, string>) {
  const cli = startCli(args, env);
  running.push(cli);
  return cli;
}

describe('CLI: agents and tasks', () => {
  it('adds, lists, re-tokens and removes agents', async () => {
    const add = await runCli(['agent', 'add', 'bot', '-c', 'upper,lower', '--capability', 'sum', '--description', 'd'], asAdmin());
    expect(add).toMatchObject({ code: 0, stderr: '' });
    const token = add.stdout.trim();
    expect((await new TaskhubClient({ url: hub.url, token }).agent('bot')).capabilities).toEqual(['upper', 'lower', 'sum']);

    const list = await runCli(['agent', 'list'], asAdmin());
    expect(list.stdout).toMatch(/^NAME\s+CONNECTED\s+CAPABILITIES\s+DESCRIPTION\nbot\s+no\s+upper,lower,sum\s+d\n$/);
    const json = await runCli(['--json', 'agent', 'list', '-c', 'sum'], asAdmin());
    expect(JSON.parse(json.stdout).agents.map((a: { name: string }) => a.name)).toEqual(['bot']);

    const rotated = await runCli(['agent', 'token', 'bot'], asAdmin());
    expect(rotated.code).toBe(0);
    expect(rotated.stdout.trim()).not.toBe(token);
    const rm = await runCli(['agent', 'rm', 'bot'], asAdmin());
    expect(rm).toMatchObject({ code: 0, stdout: 'removed bot\n' });
    expect(await admin.agents()).toEqual([]);
  });

  it('assigns, shows, lists and cancels tasks', async () => {
    const boss = as(await agentToken('boss'));
    await agentToken('bot');
    const assign = await runCli(['task', 'assign', 'count words', '-t', 'bot', '-p', '{"text":"a b"}', '--priority', 'high'], boss);
    expect(assign.code).toBe(0);
    const id = assign.stdout.trim();
    expect(await admin.getTask(id)).toMatchObject({ task: 'count words', target: 'bot', payload: { text: 'a b' }, priority: 'high' });

    const fromStdin = await runCli(['--json', 'task', 'assign', 'from stdin', '-t', 'bot', '-p', '-'], boss, '[1,2]');
    expect(JSON.parse(fromStdin.stdout).task.payload).toEqual([1, 2]);

    const get = await runCli(['task', 'get', id], boss);
    expect(get.stdout).toMatch(new RegExp(`^id:\\s+${id}\\n`));
    expect(get.stdout).toMatch(/status:\s+assigned/);
    const list = await runCli(['task', 'list', '--role', 'assigner'], boss);
    expect(list.stdout.trim().split('\n')).toHaveLength(3);
    const cancel = await runCli(['task', 'cancel', id], boss);
    expect(cancel).toMatchObject({ code: 0, stdout: `${id} cancelled\n` });
    const listed = await runCli(['--json', 'task', 'list', '--status', 'cancelled'], boss);
    expect(JSON.parse(listed.stdout).tasks.map((t: { id: string }) => t.id)).toEqual([id]);
  });

  it('exits 2 with the contract code for an HTTP error, 1 for bad usage, 5 for an unreachable hub', async () => {
    const boss = as(await agentToken('boss'));
    const missing = await runCli(['task', 'get', '00000000-0000-4000-8000-000000000000'], boss);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^taskhub: not_found \(404\): /);

    // Errors name the flags the person typed, not the HTTP fields.
    const unaddressed = await runCli(['task', 'assign', 'x'], boss);
    expect(unaddressed).toMatchObject({ code: 1, stderr: 'taskhub: say who should do it: -t/--target <agent>, -c/--capability <name>, or both.\n' });
    const invalid = await runCli(['task', 'assign', 'x', '-t', 'boss', '--deadline', 'yesterday'], boss);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('validation_failed (400)');
    expect(invalid.stderr).toMatch(/\n {2}--deadline: /);
    expect(invalid.stderr).not.toContain('body.');

    const forbidden = await runCli(['agent', 'add', 'x'], boss);
    expect(forbidden).toMatchObject({ code: 2 });
    expect(forbidden.stderr).toContain('forbidden (403)');

    const badJson = await runCli(['task', 'assign', 'x', '-t', 'boss', '-p', '{nope'], boss);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toContain('--payload must be JSON');
    const unknownFlag = await runCli(['task', 'list', '--colour', 'red'], boss);
    expect(unknownFlag.code).toBe(1);
    expect(unknownFlag.stderr).toContain("unknown option '--colour'");
    const badChoice = await runCli(['task', 'list', '--status', 'done'], boss);
    expect(badChoice.code).toBe(1);
    expect((await admin.listTasks()).tasks).toEqual([]);

    const unreachable = await runCli(['agent', 'list'], { TASKHUB_URL: 'http://127.0.0.1:9', TASKHUB_TOKEN: 'x' });
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toContain('No answer from the hub at http://127.0.0.1:9');

    const noToken = await runCli(['agent', 'list'], { TASKHUB_URL: hub.url, TASKHUB_DATA_DIR: makeDataDirGone() });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('no token');
    expect((await runCli(['--help'], {})).code).toBe(0);
  });

  it('takes the token from flags over the environment, and the admin token file as a last resort', async () => {
    const flags = await runCli(['--url', hub.url, '--token', hub.adminToken, 'agent', 'list'], { TASKHUB_TOKEN: 'wrong' });
    expect(flags.code).toBe(0);
    const fromFile = await runCli(['agent', 'list'], { TASKHUB_URL: hub.url, TASKHUB_DATA_DIR: hub.dataDir });
    expect(fromFile).toMatchObject({ code: 0, stdout: '(no agents)\n' });
  });
});

describe('CLI: rpc and messages', () => {
  it('prints an rpc result, and exits 3 for a failed task and 4 for a timeout', async () => {
    const caller = as(await agentToken('caller'));
    const worker = new TaskhubClient({ url: hub.url, token: await agentToken('bot', ['calc', 'hold']) }).worker({
      concurrency: 4,
      capabilities: {
        calc: (p: { a: number; b: number } | null) => {
          if (!p) throw new Error('nothing to add');
          return p.a === 0 ? `zero plus ${p.b}` : { sum: p.a + p.b };
        },
        hold: (_p, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      },
    });
    try {
      await worker.ready;
      const json = await runCli(['rpc', 'add', '-c', 'calc', '-p', '{"a":1,"b":2}'], caller);
      expect(json).toMatchObject({ code: 0, stdout: '{\n  "sum": 3\n}\n' });
      const text = await runCli(['rpc', 'add', '-t', 'bot', '-c', 'calc', '-p', '{"a":0,"b":2}'], caller);
      expect(text).toMatchObject({ code: 0, stdout: 'zero plus 2\n' });
      const failed = await runCli(['rpc', 'add', '-c', 'calc'], caller);
      expect(failed.code).toBe(3);
      expect(failed.stderr).toMatch(/^taskhub: task \S+ failed: nothing to add\n$/);
      const timedOut = await runCli(['rpc', 'wait', '-c', 'hold', '--timeout', '5'], caller);
      expect(timedOut.code).toBe(4);
      expect(timedOut.stderr).toMatch(/No answer to task \S+ within 5 s/);
    } finally {
      await worker.stop({ abort: true });
    }
  });

  it('sends messages and reads the inbox', async () => {
    const a = as(await agentToken('a'));
    const b = as(await agentToken('b'));
    await agentToken('c');
    const sent = await runCli(['send', 'hello there', '--to', 'b,c', '-s', 'greetings'], a);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^\S+ → b\n\S+ → c\n$/);
    const fromStdin = await runCli(['send', '--to', 'b', '--subject', 'long', '-'], a, 'line one\nline two\n');
    expect(fromStdin.code).toBe(0);

    const inbox = await runCli(['inbox', '--unread'], b);
    expect(inbox.code).toBe(0);
    expect(inbox.stdout).toMatch(/\* a → b {2}greetings {2}\[\S+\]\n {4}hello there\n/);
    expect(inbox.stdout).toContain('    line one\n    line two');
    const marked = await runCli(['inbox', '--unread', '--mark-read'], b);
    expect(marked.stdout).toMatch(/Z {4}a → b {2}greetings/);
    const after = await runCli(['--json', 'inbox', '--unread'], b);
    expect(JSON.parse(after.stdout).messages).toEqual([]);
    // Without -s the subject is the body's first line.
    const noSubject = await runCli(['--json', 'send', '--to', 'c', 'Lunch at noon?\nBring the notes.'], a);
    expect(noSubject.code).toBe(0);
    expect(JSON.parse(noSubject.stdout).messages).toMatchObject([{ to: 'c', subject: 'Lunch at noon?', body: 'Lunch at noon?\nBring the notes.' }]);
    const noOne = await runCli(['send', 'x', '--to', ',', '-s', 's'], a);
    expect(noOne.code).toBe(1);
    const unknown = await runCli(['send', 'x', '--to', 'nobody', '-s', 's'], a);
    expect(unknown.code).toBe(2);
  });
});

describe('CLI: worker and tail', () => {
  const SCRIPT = [
    'case "$TASKHUB_TASK" in',
    '  upper) tr a-z A-Z ;;',
    '  text) echo "plain words for $TASKHUB_ASSIGNER" ;;',
    '  fail) echo "something broke" >&2; exit 3 ;;',
    '  sleep) echo started >&2; sleep 30 ;;',
    'esac',
  ].join('\n');

  it('bridges a shell command: stdin payload, stdout result, exit status failure, cancel kills it', async () => {
    const boss = new TaskhubClient({ url: hub.url, token: await agentToken('boss') });
    const worker = spawnCli(['worker', '-c', 'shell', '--', SCRIPT], as(await agentToken('bot', ['shell'])));
    await vi.waitFor(() => expect(worker.stderr()).toContain('serving shell'), WAIT);

    const upper = await boss.assignTask({ capability: 'shell', task: 'upper', payload: { word: 'hello' } });
    const text = await boss.assignTask({ target: 'bot', task: 'text' });
    const fail = await boss.assignTask({ capability: 'shell', task: 'fail' });
    const done = async (id: string) => vi.waitFor(async () => {
      const t = await boss.getTask(id);
      expect(['completed', 'failed']).toContain(t.status);
      return t;
    }, WAIT);
    expect(await done(upper.id)).toMatchObject({ status: 'completed', result: { WORD: 'HELLO' } });
    expect(await done(text.id)).toMatchObject({ status: 'completed', result: 'plain words for boss' });
    const failed = await done(fail.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/exit code 3.*something broke/s);

    const slow = await boss.assignTask({ capability: 'shell', task: 'sleep' });
    await vi.waitFor(async () => expect((await boss.getTask(slow.id)).status).toBe('claimed'), WAIT);
    await boss.cancelTask(slow.id);
    await vi.waitFor(() => expect(worker.stderr()).toMatch(new RegExp(`${slow.id} failed: .*cancelled`)), WAIT);
    expect((await boss.getTask(slow.id)).status).toBe('cancelled');

    expect(await worker.stop('SIGTERM')).toBe(0);
  });

  it('hands a running task back to the queue when stopped', async () => {
    const boss = new TaskhubClient({ url: hub.url, token: await agentToken('boss') });
    const worker = spawnCli(['worker', '-c', 'shell', '--', SCRIPT], as(await agentToken('bot', ['shell'])));
    await vi.waitFor(() => expect(worker.stderr()).toContain('serving shell'), WAIT);
    const slow = await boss.assignTask({ capability: 'shell', task: 'sleep' });
    await vi.waitFor(() => expect(worker.stderr()).toContain('started'), WAIT);
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await boss.getTask(slow.id)).toMatchObject({ status: 'assigned', attempts: 1, error: 'worker stopped' });
  });

  it('exits 2 with the hub\'s message when the worker\'s token is refused, or cannot take tasks', async () => {
    const result = await runCli(['worker', '-c', 'x', '--', 'cat'], as('not-a-token'));
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('taskhub: unauthorized (401): The token is not valid.\n');
    const asAdminToo = await runCli(['worker', '-c', 'x', '--', 'cat'], asAdmin());
    expect(asAdminToo.code).toBe(2);
    expect(asAdminToo.stderr).toMatch(/^taskhub: forbidden \(403\): /);
  });

  it('tail says on stderr when it is connected and when it resumed after a drop', async () => {
    const proxy = await startProxy(hub.url);
    try {
      const tail = spawnCli(['tail', '--json'], { TASKHUB_URL: proxy.url, TASKHUB_TOKEN: await agentToken('bot') });
      await vi.waitFor(() => expect(tail.stderr()).toMatch(/^taskhub tail: connected as bot, live from event #\d+; Ctrl-C to stop\n$/), WAIT);
      proxy.cut();
      await vi.waitFor(() => expect(tail.stderr()).toMatch(/\ntaskhub tail: reconnected as bot, resumed after event #\d+\n$/), WAIT);
      expect(tail.stderr()).toMatch(/\ntaskhub tail: The event stream to .* dropped: .* \(reconnecting in \d+\.\d s\)\n/);
      expect(tail.stdout()).toBe('');
      expect(await tail.stop('SIGINT')).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('tails events as text or as JSON lines until interrupted', async () => {
    const bossToken = await agentToken('boss');
    const boss = new TaskhubClient({ url: hub.url, token: bossToken });
    const text = spawnCli(['tail'], as(await agentToken('bot')));
    const json = spawnCli(['tail', '--json'], as(bossToken));
    await vi.waitFor(async () => {
      expect((await admin.agent('boss')).connected).toBe(true);
      expect((await admin.agent('bot')).connected).toBe(true);
    }, WAIT);
    const task = await boss.assignTask({ target: 'bot', task: 'tail me' });
    await boss.cancelTask(task.id);

    await vi.waitFor(() => expect(text.stdout()).toMatch(/task\.cancelled .* boss → bot "tail me"/), WAIT);
    expect(text.stdout()).toMatch(/#\d+ task\.assigned .* boss → bot "tail me"/);
    await vi.waitFor(() => expect(json.stdout()).toContain('task.cancelled'), WAIT);
    const lines = json.stdout().trim().split('\n').map((l) => JSON.parse(l));
    // The assigner hears only the cancel; the assignment went to the target.
    expect(lines.map((l) => l.type)).toEqual(['task.cancelled']);
    expect(lines[0]).toMatchObject({ taskId: task.id, task: { status: 'cancelled' } });
    expect(await text.stop('SIGINT')).toBe(0);
    expect(await json.stop('SIGTERM')).toBe(0);
  });
});

describe('package', () => {
  it('exports the built SDK, with its types, as taskhub and taskhub/client', async () => {
    const script =
      "const c = await import('taskhub/client'); const r = await import('taskhub');" +
      "console.log(typeof c.TaskhubClient, c.TaskhubClient === r.TaskhubClient, typeof c.HttpError)";
    const result = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: path.dirname(path.dirname(BIN)) }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      );
    });
    expect(result).toBe('function true function\n');
    // The server package re-exports the SDK package, whose declarations name the client.
    const types = fs.readFileSync(path.join(path.dirname(path.dirname(BIN)), 'client', 'index.d.ts'), 'utf8');
    expect(types).toContain("from '@taskhub/sdk'");
    const sdkTypes = fs.readFileSync(path.join(path.dirname(path.dirname(BIN)), '..', 'packages/sdk/dist/index.d.ts'), 'utf8');
    expect(sdkTypes).toContain('TaskhubClient');
  });
});

describe('CLI: serve', () => {
  it('runs the hub from dist (migrations included) until SIGTERM', async () => {
    const dataDir = makeDataDir();
    const serve = spawnCli(['serve', '--port', '0', '--data-dir', dataDir], { LOG_LEVEL: 'info', TASKHUB_SMTP_PORT: '0' });
    const url = await vi.waitFor(() => {
      const match = /taskhub listening on (http:\/\/[\d.:]+)/.exec(serve.stdout());
      expect(match, serve.stderr()).not.toBeNull();
      return match![1]!;
    }, WAIT);
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const add = await runCli(['agent', 'add', 'first'], { TASKHUB_URL: url, TASKHUB_DATA_DIR: dataDir });
    expect(add.code).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'taskhub.db'))).toBe(true);
    expect(await serve.stop('SIGTERM')).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});

/** A data dir path with no admin token in it. */
function makeDataDirGone(): string {
  const dir = makeDataDir();
  fs.rmSync(dir, { recursive: true, force: true });
  return dir;
}
