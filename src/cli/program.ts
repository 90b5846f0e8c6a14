import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { TaskhubClient } from '../client/index.js';
import { TASKHUB_VERSION as VERSION } from '../version.js';
import { registerAdminCommands } from './commands/admin.js';
import { registerBackupCommand } from './commands/backup.js';
import { registerLiveCommands } from './commands/live.js';
import { registerMessageCommands } from './commands/messages.js';
import { registerTaskCommands } from './commands/tasks.js';
import { registerWebhookCommands } from './commands/webhook.js';
import { EXIT, printer, reportError, UsageError, type Io } from './output.js';

/** Where the CLI looks for the hub when neither `--url` nor `TASKHUB_URL` says. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface GlobalOptions {
  url: string;
  token?: string;
  json?: boolean;
}

/** What every command gets: the streams, a client built from the global options, and a printer. */
export interface Cli {
  io: Io;
  /** The global options as given on the command line or in the environment. */
  globals(command: Command): GlobalOptions;
  client(command: Command): TaskhubClient;
  print(command: Command): (value: unknown, human: () => string) => void;
}

/**
 * The token: `--token`, else `TASKHUB_TOKEN`, else the admin token a local hub wrote into its data dir
 * (`$TASKHUB_DATA_DIR/admin.token`, default `./data/admin.token`), so `taskhub serve` and `taskhub agent add`
 * work side by side without copying secrets around.
 */
function resolveToken(io: Io, given: string | undefined): string {
  if (given) return given;
  const file = path.join(io.env.TASKHUB_DATA_DIR || './data', 'admin.token');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    throw new UsageError(`no token: pass --token, set TASKHUB_TOKEN, or run next to a hub's ${file}.`);
  }
}


export function createProgram(io: Io): Command {
  const program = new Command('taskhub')
    .description('A realtime task hub for AI agents: run it, and talk to it.')
    .version(VERSION)
    .addOption(new Option('--url <url>', 'hub URL').env('TASKHUB_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <jwt>', 'agent or admin token').env('TASKHUB_TOKEN'))
    .option('--json', 'print JSON instead of text')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    // Subcommands made after this inherit it: every error, usage ones included, comes back to `run`.
    .exitOverride();

  const cli: Cli = {
    io,
    globals: (command) => command.optsWithGlobals<GlobalOptions>(),
    client(command) {
      const { url, token } = cli.globals(command);
      return new TaskhubClient({ url, token: resolveToken(io, token) });
    },
    print: (command) => printer(io, cli.globals(command).json === true),
  };
  registerAdminCommands(program, cli);
  registerTaskCommands(program, cli);
  registerMessageCommands(program, cli);
  registerLiveCommands(program, cli);
  registerWebhookCommands(program, cli);
  registerBackupCommand(program, cli);
  return program;
}

/** Runs the CLI on `argv` (as `process.argv`) and resolves with the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    return reportError(io, error);
  }
}
