import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addAgent } from '../helpers/api.js';
import { ensureBuilt } from '../helpers/cli.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

// docs/clients.md's install instructions and the README's MCP config, run as written (the README's CLI session
// has its own test, readme-cli.test.ts): the code blocks are read from the
// files themselves. Global installs go to a temporary npm prefix, put first on the PATH.
const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const blocksIn = (text: string, lang: string) => [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
const blocks = (file: string, lang: string) => blocksIn(read(file), lang);
const section = (file: string, heading: string) => {
  const text = read(file);
  const start = text.indexOf(heading);
  if (start < 0) throw new Error(`${file} has no "${heading}"`);
  const end = text.indexOf('\n#', start + heading.length);
  return text.slice(start, end < 0 ? undefined : end);
};

let prefix: string;
let hub: TestHub | undefined;
const clients: Client[] = [];

beforeAll(async () => {
  await ensureBuilt();
  prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-prefix-'));
}, 180_000);
afterAll(() => fs.rmSync(prefix, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await hub?.stop();
  hub = undefined;
});

const envFor = (h: TestHub) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKHUB_'))),
  PATH: `${prefix}/bin:${process.env.PATH}`,
  npm_config_prefix: prefix,
  TASKHUB_URL: h.url,
  TASKHUB_DATA_DIR: h.dataDir,
});

/** Runs a shell snippet in the checkout with bash -e; background jobs it leaves are ended when it exits. */
function sh(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-ec', `trap 'rc=$?; for j in $(jobs -p); do kill $j 2>/dev/null; done; wait; exit $rc' EXIT\n${script}`], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function mcpTools(server: { command: string; args: string[]; env: Record<string, string> }, h: TestHub, token: string) {
  const transport = new StdioClientTransport({
    command: server.command,
    args: server.args,
    env: { ...server.env, PATH: `${prefix}/bin:${process.env.PATH}`, TASKHUB_URL: h.url, TASKHUB_TOKEN: token },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'install-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  const { tools } = await client.listTools();
  return tools.map((t) => t.name);
}

describe('installing from a checkout, as the docs say', () => {
  it('runs the docs/clients.md checkout install, then the MCP server both ways it is configured', async () => {
    hub = await startTestHub();
    const install = blocks('docs/clients.md', 'sh')[0]!;
    expect(install).toMatch(/^npm link/);
    const result = await sh(install, envFor(hub));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n').pop()).toBe(JSON.parse(read('package.json')).version);

    const agent = await addAgent(hub, 'llm');
    const configs = [
      JSON.parse(blocksIn(section('docs/clients.md', '## Install'), 'json')[0]!).mcpServers.taskhub,
      JSON.parse(blocks('README.md', 'json')[0]!.replace('/path/to/taskhub', ROOT)).mcpServers.taskhub,
    ];
    expect(configs.map((c) => c.command)).toEqual(['taskhub', 'node']);
    for (const config of configs) expect(await mcpTools(config, hub, agent.token)).toContain('call_agent');
  }, 60_000);

  it('installs the SDK from its packed tarball with nothing of the server, as docs/clients.md says', async () => {
    hub = await startTestHub();
    const block = blocksIn(section('docs/clients.md', '## Install'), 'sh').find((b) => b.includes('-w @taskhub/sdk'))!;
    const [pack, install] = block.trim().split('\n').map((line) => line.replace(/\s+#.*$/, ''));
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'taskhub-sdk-project-'));
    try {
      const packed = await sh(pack!, envFor(hub));
      expect(packed.code, packed.stderr).toBe(0);
      const tarball = packed.stdout.trim().split('\n').pop()!;
      fs.renameSync(path.join(ROOT, tarball), path.join(project, tarball));
      fs.writeFileSync(path.join(project, 'package.json'), '{"name":"project","private":true,"type":"module"}');
      const installed = await new Promise<number | null>((resolve) =>
        spawn('bash', ['-ec', install!], { cwd: project, env: envFor(hub!), stdio: 'ignore' }).on('close', resolve),
      );
      expect(installed).toBe(0);
      const modules = fs.readdirSync(path.join(project, 'node_modules')).filter((m) => !m.startsWith('.'));
      expect(modules.sort()).toEqual(['@a2a-js', '@taskhub', 'eventsource', 'eventsource-parser', 'jose']);
      const agent = await addAgent(hub, 'sdk-user');
      const script = `import { TaskhubClient } from '@taskhub/sdk';
        const hub = new TaskhubClient({ url: ${JSON.stringify(hub.url)}, token: ${JSON.stringify(agent.token)} });
        console.log((await hub.agent('sdk-user')).name);`;
      fs.writeFileSync(path.join(project, 'try.mjs'), script);
      const ran = await sh(`cd ${project} && node try.mjs`, envFor(hub));
      expect(ran.stdout.trim()).toBe('sdk-user');
      // A webhook receiver imports only the verifier, and it works from the tarball alone.
      const receiver = `import { createHmac } from 'node:crypto';
        import { verifyWebhook } from '@taskhub/sdk/webhooks';
        const key = Buffer.alloc(32, 7); const body = '{"id":1,"type":"message"}'; const t = Math.floor(Date.now() / 1000);
        const mac = createHmac('sha256', key).update('1.' + t + '.' + body).digest('base64');
        const headers = { 'webhook-id': '1', 'webhook-timestamp': String(t), 'webhook-signature': 'v1,' + mac };
        console.log(verifyWebhook('whsec_' + key.toString('base64'), headers, body).type);`;
      fs.writeFileSync(path.join(project, 'receiver.mjs'), receiver);
      const verified = await sh(`cd ${project} && node receiver.mjs`, envFor(hub));
      expect(verified.stdout.trim(), verified.stderr).toBe('message');
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  }, 60_000);
});
