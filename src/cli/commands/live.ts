import type { Command } from 'commander';
import { a2aForwarder, describeError, stderrReporter, type HubEvent, type Subscription, type TaskhubClient, type Worker } from '../../client/index.js';
import { UsageError } from '../output.js';
import { shellHandler } from '../shell-worker.js';
import type { Cli } from '../program.js';
import { positiveInt } from './tasks.js';

/**
 * Runs until SIGINT or SIGTERM, or until `fail` is called with an error (which it then throws). Signal
 * listeners are removed either way.
 */
async function untilInterrupted(body: (fail: (error: Error) => void) => Promise<void> | void): Promise<void> {
  let onSignal!: () => void;
  let fail!: (error: Error) => void;
  const ended = new Promise<void>((resolve, reject) => {
    onSignal = () => resolve();
    fail = reject;
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await Promise.race([body(fail), ended]);
    await ended;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One line per event, for a person watching. */
export function describeEvent(e: HubEvent): string {
  const head = `${e.at} #${e.id} ${e.type}`;
  if (e.type === 'reset') return `${head} (older events are gone; resynchronise through the REST routes)`;
  if (e.message) return `${head} ${e.message.from} → ${e.message.to}: ${e.message.subject}`;
  if (!e.task) return head;
  const t = e.task;
  const extra =
    e.type === 'task.progress' && e.progress
      ? ` ${[e.progress.progress !== null ? `${Math.round(e.progress.progress * 100)}%` : '', e.progress.message ?? ''].join(' ').trim()}`
      : e.type === 'task.completed'
        ? ` → ${JSON.stringify(t.result)}`
        : t.error
          ? ` (${t.error})`
          : '';
  return `${head} ${t.id} ${t.assigner} → ${t.target} "${t.task.slice(0, 60)}"${extra}`;
}

/** `tail`, `worker` and `mcp`: the commands that keep running. */
export function registerLiveCommands(program: Command, cli: Cli): void {
  program
    .command('tail')
    .description('print your live events until interrupted (--json: one JSON object per line)')
    .option('--from <eventId>', 'first replay the events after this id', positiveInt)
    .action(async (options: { from?: number }, command: Command) => {
      const json = cli.globals(command).json === true;
      const { stdout, stderr } = cli.io;
      const client = cli.client(command);
      let sub: Subscription | undefined;
      try {
        await untilInterrupted((fail) => {
          sub = client.subscribe((e) => void stdout.write(`${json ? JSON.stringify(e) : describeEvent(e)}\n`), {
            ...(options.from !== undefined && { lastEventId: options.from }),
            // On stderr, so that stdout stays the events alone (one JSON object per line with --json).
            onOpen: ({ agent, lastEventId, reconnected }) =>
              stderr.write(
                reconnected
                  ? `taskhub tail: reconnected as ${agent}, resumed after event #${lastEventId}\n`
                  : `taskhub tail: connected as ${agent}, ${options.from !== undefined ? `replaying after event #${options.from}` : `live from event #${lastEventId}`}; Ctrl-C to stop\n`,
              ),
            onError: (error, { fatal, retryInMs }) =>
              fatal
                ? fail(error)
                : stderr.write(`taskhub tail: ${describeError(error)} (reconnecting in ${((retryInMs ?? 0) / 1000).toFixed(1)} s)\n`),
          });
        });
      } finally {
        sub?.close();
      }
    });

  program
    .command('worker')
    .description('be an agent: run COMMAND for each task (payload JSON on stdin, stdout is the result), or forward each to a remote A2A agent with --a2a')
    .argument('[command...]', 'the command, after --; one argument runs through /bin/sh -c')
    .requiredOption('-c, --capability <name>', 'a capability to serve (repeat for more)', (v: string, p: string[] = []) => [...p, v])
    .option('--a2a <card url>', 'forward each task to the A2A agent of this card instead of running a command')
    .option('--a2a-token <token>', 'bearer token for the A2A agent (default: $TASKHUB_A2A_TOKEN)')
    .option('--concurrency <n>', 'tasks run at once', positiveInt, 1)
    .option('--lease <seconds>', 'lease asked for on each claim (hub default 300)', positiveInt)
    .option('--timeout <seconds>', 'kill a command running longer than this, failing its task', positiveInt)
    .action(async (commandLine: string[], options: WorkerCliOptions, command: Command) => {
      const { stderr } = cli.io;
      if ((commandLine.length > 0) === (options.a2a !== undefined)) {
        throw new UsageError('give either a command (after --) or --a2a <card url>, not both');
      }
      const run = options.a2a !== undefined
        ? a2aForwarder({ card: options.a2a, ...((options.a2aToken ?? cli.io.env.TASKHUB_A2A_TOKEN) && { token: options.a2aToken ?? cli.io.env.TASKHUB_A2A_TOKEN }) })
        : shellHandler(commandLine, {
            env: cli.io.env,
            onStderr: (chunk) => stderr.write(chunk),
            ...(options.timeout && { timeoutMs: options.timeout * 1000 }),
          });
      const logged = async (payload: unknown, ctx: Parameters<typeof run>[1]) => {
        const started = Date.now();
        try {
          const result = await run(payload, ctx);
          stderr.write(`taskhub worker: ${ctx.task.id} completed in ${Date.now() - started} ms\n`);
          return result;
        } catch (error) {
          stderr.write(`taskhub worker: ${ctx.task.id} failed: ${(error as Error).message}\n`);
          throw error;
        }
      };
      const client = cli.client(command);
      const workerReport = stderrReporter('taskhub worker', (line) => void stderr.write(`${line}\n`));
      let worker: Worker | undefined;
      try {
        await untilInterrupted(async (fail) => {
          worker = client.worker({
            capabilities: Object.fromEntries(options.capability.map((c) => [c, logged])),
            // This process is the whole agent: tasks addressed to it without a capability run the command too.
            fallback: logged,
            concurrency: options.concurrency,
            ...(options.lease && { leaseSeconds: options.lease }),
            onError: (error, info) => (info.fatal ? fail(error) : workerReport(error, info)),
          });
          await worker.ready;
          stderr.write(`taskhub worker: serving ${options.capability.join(', ')}${options.a2a ? ` via A2A ${options.a2a}` : ''}\n`);
        });
      } finally {
        // Running commands are stopped and their tasks handed back to the queue for another delivery.
        await worker?.stop({ abort: true });
      }
    });

  program
    .command('mcp')
    .description('serve the taskhub tools to an MCP client over stdio')
    .action(async (_options: object, command: Command) => {
      const { MissingTokenError, serveMcpOverStdio } = await import('../../mcp/server.js');
      let client: TaskhubClient | InstanceType<typeof MissingTokenError>;
      try {
        client = cli.client(command);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        // Exiting here would show the MCP client only "connection closed": answer the handshake instead, and
        // let every tool say what is missing.
        client = new MissingTokenError(
          'taskhub has no token: set TASKHUB_TOKEN in this MCP server\'s env to an agent token (`taskhub agent add <name>` prints one), then restart the server.',
        );
        cli.io.stderr.write(`taskhub mcp: ${client.message}\n`);
      }
      await serveMcpOverStdio(client);
    });
}

interface WorkerCliOptions {
  capability: string[];
  a2a?: string;
  a2aToken?: string;
  concurrency: number;
  lease?: number;
  timeout?: number;
}
