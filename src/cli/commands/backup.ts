import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../output.js';
import type { Cli } from '../program.js';

/** `backup FILE`: an online copy of a local hub's SQLite database. */
export function registerBackupCommand(program: Command, cli: Cli): void {
  program
    .command('backup <file>')
    .description("copy the hub's SQLite database to FILE, safely while the hub runs (restore: see docs/operations.md)")
    .option('--data-dir <dir>', 'data directory of the hub (TASKHUB_DATA_DIR, default ./data)')
    .option('--force', 'overwrite FILE if it exists')
    .action(async (file: string, options: { dataDir?: string; force?: boolean }, command: Command) => {
      // Loaded here so that the other commands never load the native SQLite binding.
      const { backupDatabase, DATABASE_FILE } = await import('../../backup.js');
      const dataDir = options.dataDir ?? (cli.io.env.TASKHUB_DATA_DIR || './data');
      const source = path.join(dataDir, DATABASE_FILE);
      const done = await backupDatabase(source, file, { overwrite: options.force === true }).catch((error: unknown) => {
        throw new UsageError(`backup of ${source} failed: ${error instanceof Error ? error.message : String(error)}`);
      });
      cli.print(command)(done, () => `backed up ${done.pages} pages (${done.bytes} bytes) to ${done.file}`);
    });
}
