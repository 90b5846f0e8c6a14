import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli.js';
import { makeDataDir } from '../helpers/hub.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * The README's CLI session, exactly as printed, but for the port (a free one) and the endless `tail`, which is
 * interrupted once connected, as Ctrl-C would: SIGINT to its whole process group (npx, sh, node).
 */
function readmeSession(port: number): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /### The CLI\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]!;
  expect(block).toContain('http://127.0.0.1:8080');
  return block
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)
    .replace(
      /^npx taskhub tail --json.*$/m,
      // Interrupted once it says it is connected (a fixed sleep is too short on a loaded machine), its stderr
      // passed on for the checks below.
      'npx taskhub tail --json 2>"$TASKHUB_DATA_DIR/tail.err" &\n' +
        'for i in $(seq 600); do grep -q "connected as" "$TASKHUB_DATA_DIR/tail.err" && break; sleep 0.1; done\n' +
        'kill -INT %3; wait %3 || true; cat "$TASKHUB_DATA_DIR/tail.err" >&2',
    );
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(ensureBuilt, 180_000);

describe('README', () => {
  it('runs the CLI session as written: no token pasted, no agent registered twice', async () => {
    const port = await freePort();
    const dataDir = makeDataDir();
    // Job control on: each background job is a process group of its own, so `kill %N` stops npx and what it
    // started, and every job the session put in the background is stopped when the script ends, even early.
    const stopJobs = 'trap \'for job in $(jobs -p); do kill -- -$job 2>/dev/null; done; wait\' EXIT';
    const script = `set -e -m\n${stopJobs}\ncd "$ROOT"\n${readmeSession(port)}\n`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKHUB_')));
    const child = spawn('bash', ['-c', script], {
      env: { ...env, ROOT, PORT: String(port), TASKHUB_DATA_DIR: dataDir, TASKHUB_SMTP_PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });

    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('3');
    expect(lines[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(stdout).toMatch(/ completed +boss +counter +count the words\n/);
    expect(stdout).toMatch(/\n\S+ → counter\n/);
    expect(stderr).toContain('taskhub worker: serving count');
    expect(stderr).toMatch(/taskhub tail: connected as boss/);
    expect(stderr).not.toMatch(/conflict|taskhub: (?!tail|worker)/);
  }, 90_000);
});
