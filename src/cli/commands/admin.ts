import type { Command } from 'commander';
import type { Agent } from '../../client/index.js';
import { table } from '../output.js';
import type { Cli } from '../program.js';

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

function agentRows(agents: Agent[]): string {
  if (agents.length === 0) return '(no agents)';
  return table([
    ['NAME', 'CONNECTED', 'CAPABILITIES', 'DESCRIPTION'],
    ...agents.map((a) => [a.name, a.connected ? `yes (${a.streams})` : 'no', a.capabilities.join(',') || '-', a.description ?? '']),
  ]);
}

/** `serve` and `agent add|list|rm|token`. */
export function registerAdminCommands(program: Command, cli: Cli): void {
  program
    .command('serve')
    .description('run the hub (configured by the environment, see docs; flags override it)')
    .option('--port <port>', 'HTTP port (PORT, default 8080)')
    .option('--host <host>', 'bind address (HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'data directory (TASKHUB_DATA_DIR, default ./data)')
    .action(async (options: { port?: string; host?: string; dataDir?: string }) => {
      // Loaded here so that the other commands never load the server (and its native SQLite binding).
      const { runFromEnvironment } = await import('../../main.js');
      await runFromEnvironment({
        ...cli.io.env,
        ...(options.port !== undefined && { PORT: options.port }),
        ...(options.host !== undefined && { HOST: options.host }),
        ...(options.dataDir !== undefined && { TASKHUB_DATA_DIR: options.dataDir }),
      });
    });

  const agent = program.command('agent').description('manage agents (add, rm and token need an admin token)');

  agent
    .command('add <name>')
    .description('register an agent and print its token')
    .option('-c, --capability <name>', 'a capability it offers (repeat, or separate with commas)', collect)
    .option('--email <address>', 'where to mail its events while it has no stream open')
    .option('--description <text>', 'what it does')
    .action(async (name: string, options: { capability?: string[]; email?: string; description?: string }, command: Command) => {
      const created = await cli.client(command).createAgent({
        name,
        ...(options.capability && { capabilities: options.capability }),
        ...(options.email !== undefined && { email: options.email }),
        ...(options.description !== undefined && { description: options.description }),
      });
      cli.print(command)(created, () => created.token);
    });

  agent
    .command('list')
    .description('list agents')
    .option('-c, --capability <name>', 'only those offering it')
    .action(async (options: { capability?: string }, command: Command) => {
      const agents = await cli.client(command).agents(options.capability ? { capability: options.capability } : {});
      cli.print(command)({ agents }, () => agentRows(agents));
    });

  agent
    .command('rm <name>')
    .description('remove an agent: its streams close, its open tasks fail')
    .action(async (name: string, _options: object, command: Command) => {
      await cli.client(command).removeAgent(name);
      cli.print(command)({ removed: name }, () => `removed ${name}`);
    });

  agent
    .command('token <name>')
    .description("issue a new token for an agent (revokes its older ones) and print it")
    .action(async (name: string, _options: object, command: Command) => {
      const token = await cli.client(command).rotateToken(name);
      cli.print(command)({ token }, () => token);
    });
}
