import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Priority, Task, TaskStatus } from '../../client/index.js';
import { formatResult, readJson, table, UsageError, type Io } from '../output.js';
import type { Cli } from '../program.js';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const STATUSES = ['assigned', 'claimed', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'];

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1.');
  return n;
}

interface AddressOptions {
  target?: string;
  capability?: string;
  payload?: string;
  priority?: Priority;
}

/** The options that say where a task goes and what it carries, shared by `task assign` and `rpc`. */
function addressed(command: Command): Command {
  return command
    .option('-t, --target <agent>', 'the agent to ask')
    .option('-c, --capability <name>', 'route to an agent offering this capability')
    .option('-p, --payload <json>', 'JSON payload; - reads it from stdin')
    .addOption(new Option('--priority <level>', 'priority').choices(PRIORITIES));
}

async function addressOf(io: Io, text: string, options: AddressOptions) {
  if (options.target === undefined && options.capability === undefined) {
    throw new UsageError('say who should do it: -t/--target <agent>, -c/--capability <name>, or both.');
  }
  return {
    task: text,
    ...(options.target !== undefined && { target: options.target }),
    ...(options.capability !== undefined && { capability: options.capability }),
    ...(options.payload !== undefined && { payload: await readJson(io, options.payload, '--payload') }),
    ...(options.priority !== undefined && { priority: options.priority }),
  };
}

export function describeTask(t: Task): string {
  const lines: [string, unknown][] = [
    ['id', t.id],
    ['task', t.task],
    ['status', t.status],
    ['kind', t.kind],
    ['assigner', t.assigner],
    ['target', t.target],
    ['capability', t.capability],
    ['priority', t.priority],
    ['attempts', t.attempts],
    ['created', t.createdAt],
    ['deadline', t.deadline],
    ['payload', t.payload === null ? null : JSON.stringify(t.payload)],
    ['result', t.result === null ? null : JSON.stringify(t.result)],
    ['error', t.error],
  ];
  return table(lines.filter(([, v]) => v !== null).map(([k, v]) => [`${k}:`, String(v)]));
}

function taskRows(tasks: Task[]): string {
  if (tasks.length === 0) return '(no tasks)';
  return table([
    ['ID', 'STATUS', 'ASSIGNER', 'TARGET', 'TASK'],
    ...tasks.map((t) => [t.id, t.status, t.assigner, t.target, t.task.replace(/\s+/g, ' ').slice(0, 60)]),
  ]);
}

/** `task assign|get|list|cancel` and `rpc`. */
export function registerTaskCommands(program: Command, cli: Cli): void {
  const task = program.command('task').description('assign, inspect and cancel tasks');

  addressed(task.command('assign <text>').description('assign a task and print its id'))
    .option('--deadline <time>', 'ISO-8601 time after which the task expires')
    .option('--idempotency-key <key>', 'repeating the key returns the first task instead of a new one')
    .action(async (text: string, options: AddressOptions & { deadline?: string; idempotencyKey?: string }, command: Command) => {
      const created = await cli.client(command).assignTask({
        ...(await addressOf(cli.io, text, options)),
        ...(options.deadline !== undefined && { deadline: options.deadline }),
        ...(options.idempotencyKey !== undefined && { idempotencyKey: options.idempotencyKey }),
      });
      cli.print(command)({ task: created }, () => created.id);
    });

  task
    .command('get <id>')
    .description('show a task')
    .action(async (id: string, _options: object, command: Command) => {
      const found = await cli.client(command).getTask(id);
      cli.print(command)({ task: found }, () => describeTask(found));
    });

  task
    .command('list')
    .description('list tasks you assigned or are the target of, newest first')
    .addOption(new Option('--role <role>', 'only as assigner or as target').choices(['assigner', 'target']))
    .addOption(new Option('--status <status>', 'only in this status').choices(STATUSES))
    .option('--limit <n>', 'page size (hub default 50, at most 200)', positiveInt)
    .option('--cursor <cursor>', 'the nextCursor of the previous page')
    .action(async (options: { role?: 'assigner' | 'target'; status?: TaskStatus; limit?: number; cursor?: string }, command: Command) => {
      const page = await cli.client(command).listTasks(options);
      cli.print(command)(page, () => taskRows(page.tasks) + (page.nextCursor ? `\n(more: --cursor ${page.nextCursor})` : ''));
    });

  task
    .command('cancel <id>')
    .description('cancel a task you assigned')
    .action(async (id: string, _options: object, command: Command) => {
      const cancelled = await cli.client(command).cancelTask(id);
      cli.print(command)({ task: cancelled }, () => `${cancelled.id} ${cancelled.status}`);
    });

  addressed(program.command('rpc <text>').description('ask an agent and wait for the answer; prints the result'))
    .option('--timeout <seconds>', 'how long to wait (the hub clamps it to 5..300)', positiveInt, 180)
    .option('--keep-on-timeout', 'leave the task open on timeout instead of cancelling it')
    .action(async (text: string, options: AddressOptions & { timeout: number; keepOnTimeout?: boolean }, command: Command) => {
      const result = await cli.client(command).rpc({
        ...(await addressOf(cli.io, text, options)),
        timeoutMs: options.timeout * 1000,
        ...(options.keepOnTimeout && { keepOnTimeout: true }),
      });
      cli.print(command)({ result }, () => formatResult(result));
    });
}
