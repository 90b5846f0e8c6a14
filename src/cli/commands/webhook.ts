import type { Command } from 'commander';
import type { WebhookState, WebhookTarget } from '../../client/index.js';
import { table, UsageError } from '../output.js';
import type { Cli } from '../program.js';

interface AgentOption {
  agent?: string;
}

const targetOf = (options: AgentOption): WebhookTarget => (options.agent === undefined ? {} : { agent: options.agent });

/** Runs a webhook call; the SDK's "whose webhook?" TypeError (an admin token, no `--agent`) becomes a usage error. */
async function forTarget<T>(options: AgentOption, call: (target: WebhookTarget) => Promise<T>): Promise<T> {
  try {
    return await call(targetOf(options));
  } catch (error) {
    if (options.agent === undefined && error instanceof TypeError) {
      throw new UsageError('this token is not an agent\'s own (an admin token?): name the agent with --agent <name>.');
    }
    throw error;
  }
}

/** `--events a,b` (repeatable) → the list, empty entries dropped (the action refuses a list left empty). */
function eventList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

const eventsText = (events: string[] | null) => (events === null ? 'all' : events.join(','));

export function describeWebhook(state: WebhookState): string {
  const { webhook, deliveries, failed } = state;
  const head = table([
    ['url:', webhook.url],
    ['events:', eventsText(webhook.events)],
    ['created:', webhook.createdAt],
    ['deliveries:', `${deliveries.queued} queued, ${deliveries.sent} sent, ${deliveries.failed} failed`],
  ]);
  if (failed.length === 0) return head;
  const rows = failed.map((f) => [String(f.eventId), String(f.attempts), f.lastAttemptAt ?? '-', f.lastError ?? '-']);
  return `${head}\n\nfailed deliveries (newest first; \`taskhub webhook retry\` sends them again):\n${table([
    ['EVENT', 'ATTEMPTS', 'LAST ATTEMPT', 'LAST ERROR'],
    ...rows,
  ])}`;
}

/** `webhook set|show|remove|retry`: the caller's own agent's webhook, or with `--agent` (admin) any agent's. */
export function registerWebhookCommands(program: Command, cli: Cli): void {
  const webhook = program
    .command('webhook')
    .description("manage an agent's webhook: its events POSTed to a URL while it holds no stream");
  const forAgent = (command: Command) => command.option('--agent <name>', "the agent (default: the token's own; needed with an admin token)");

  forAgent(webhook.command('set <url>'))
    .description('send events to <url> instead of email, and print the new signing secret (shown only once)')
    .option('--events <types>', 'only these event types, separated by commas (default: all)', eventList)
    .action(async (url: string, options: AgentOption & { events?: string[] }, command: Command) => {
      if (options.events?.length === 0) throw new UsageError('--events needs at least one event type (leave it out for all).');
      const events = options.events;
      const set = await forTarget(options, (target) =>
        cli.client(command).setWebhook(url, { ...target, ...(events !== undefined && { events }) }),
      );
      // stdout carries the secret alone, so that `SECRET=$(taskhub webhook set …)` captures it.
      cli.io.stderr.write(`taskhub: webhook set to ${set.webhook.url} (events: ${eventsText(set.webhook.events)}); keep this secret, it is not shown again\n`);
      cli.print(command)(set, () => set.secret);
    });

  forAgent(webhook.command('show'))
    .description('show the webhook, its delivery counts and its failed deliveries')
    .action(async (options: AgentOption, command: Command) => {
      const state = await forTarget(options, (target) => cli.client(command).getWebhook(target));
      cli.print(command)(state, () => describeWebhook(state));
    });

  forAgent(webhook.command('remove'))
    .description('remove the webhook: later events go to email again')
    .action(async (options: AgentOption, command: Command) => {
      await forTarget(options, (target) => cli.client(command).removeWebhook(target));
      cli.print(command)({ removed: true }, () => 'webhook removed');
    });

  forAgent(webhook.command('retry'))
    .description('send the failed deliveries again')
    .action(async (options: AgentOption, command: Command) => {
      const requeued = await forTarget(options, (target) => cli.client(command).retryWebhook(target));
      cli.print(command)({ requeued }, () => `${requeued} ${requeued === 1 ? 'delivery' : 'deliveries'} queued again`);
    });
}
