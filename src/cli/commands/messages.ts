import type { Command } from 'commander';
import type { Message } from '../../client/index.js';
import { readAll, UsageError } from '../output.js';
import { positiveInt } from './tasks.js';
import type { Cli } from '../program.js';

function messageLines(messages: Message[]): string {
  if (messages.length === 0) return '(no messages)';
  return messages
    .map((m) => `${m.createdAt}  ${m.readAt ? ' ' : '*'} ${m.from} → ${m.to}  ${m.subject}  [${m.id}]\n${indent(m.body)}`)
    .join('\n');
}

const indent = (text: string) => text.replace(/^/gm, '    ');

/** Characters of the body's first line taken as the subject when `-s` is not given. */
export const DEFAULT_SUBJECT_CHARS = 60;

/** The subject of a message sent without `-s`: its first non-empty line, cut to DEFAULT_SUBJECT_CHARS. */
export function subjectOf(body: string): string {
  const line = body.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
  if (line === '') return '(no subject)';
  return line.length > DEFAULT_SUBJECT_CHARS ? `${line.slice(0, DEFAULT_SUBJECT_CHARS - 1)}…` : line;
}

/** `send` and `inbox`. */
export function registerMessageCommands(program: Command, cli: Cli): void {
  program
    .command('send [body]')
    .description('send a message (body from the argument, or stdin when it is - or missing)')
    .requiredOption('--to <agents>', 'recipient(s), separated by commas, or ALL for every other agent')
    .option('-s, --subject <text>', 'subject (default: the first line of the body)')
    .option('--in-reply-to <id>', 'the message this answers (keeps the thread)')
    .action(async (body: string | undefined, options: { to: string; subject?: string; inReplyTo?: string }, command: Command) => {
      const text = body === undefined || body === '-' ? await readAll(cli.io.stdin) : body;
      const names = options.to.split(',').map((s) => s.trim()).filter(Boolean);
      if (names.length === 0) throw new UsageError('--to needs at least one agent name, or ALL.');
      const to = names.length === 1 ? names[0]! : names;
      const sent = await cli.client(command).sendMessage({
        to,
        subject: options.subject ?? subjectOf(text),
        body: text,
        ...(options.inReplyTo !== undefined && { inReplyTo: options.inReplyTo }),
      });
      cli.print(command)({ messages: sent }, () => sent.map((m) => `${m.id} → ${m.to}`).join('\n'));
    });

  program
    .command('inbox')
    .description('read your messages, newest last (* = unread)')
    .option('--unread', 'only unread messages')
    .option('--mark-read', 'mark the messages shown as read')
    .option('--limit <n>', 'page size', positiveInt)
    .option('--cursor <cursor>', 'the nextCursor of the previous page')
    .action(async (options: { unread?: boolean; markRead?: boolean; limit?: number; cursor?: string }, command: Command) => {
      const page = await cli.client(command).inbox(options);
      cli.print(command)(page, () => messageLines(page.messages) + (page.nextCursor ? `\n(more: --cursor ${page.nextCursor})` : ''));
    });
}
