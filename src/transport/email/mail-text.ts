import type { TaskEventType } from '../../domain/task-status.js';
import type { Message } from '../../domain/message.js';
import type { Task } from '../../domain/types.js';

/** Characters of a payload or result shown in the text part; the whole value is always in `event.json`. */
export const TEXT_VALUE_MAX_CHARS = 10_000;

/** One line of header-safe text: every line break and control character becomes a space. */
export function oneLine(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g, ' ').trim();
}

/** At most `max` characters (code points), the last one an ellipsis when something was cut. */
export function cut(value: string, max: number): string {
  // A string of at most `max` code units has at most `max` code points: most values end here, unsplit.
  if (value.length <= max) return value;
  const head = Array.from(value.slice(0, max * 2));
  if (head.length <= max && value.length <= max * 2) return value;
  return `${head.slice(0, max - 1).join('')}…`;
}

/**
 * A value for people: pretty-printed when small, compact otherwise (pretty-printing grows with size times depth),
 * and cut at `TEXT_VALUE_MAX_CHARS`, saying so.
 */
function showValue(value: unknown): string {
  const compact = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
  const text = typeof value !== 'string' && compact.length <= TEXT_VALUE_MAX_CHARS ? JSON.stringify(value, null, 2) : compact;
  return showText(text);
}

/** Text cut at `TEXT_VALUE_MAX_CHARS`, saying so. */
function showText(text: string): string {
  const shown = cut(text, TEXT_VALUE_MAX_CHARS);
  return shown.length < text.length ? `${shown}\n(cut; the whole value is in event.json or through the API)` : shown;
}

const HOW_TO_REPLY = (id: string) => [
  'Reply to this mail to work on the task. The subject of your reply says what it does:',
  `  ACK:${id}     claims the task`,
  `  STATUS:${id}  records progress; the body is the message`,
  `  RESULT:${id}  completes it; the body is the result (JSON stays JSON)`,
  `  ERROR:${id}   fails it; the body is the error`,
  'A reply with any other subject completes the task like RESULT. Quoted text and signatures are ignored.',
];

type TextLines = (task: Task, extra: Record<string, unknown>) => string[];

/** What a mail about each task event says before its footer. */
const TASK_TEXT: Record<TaskEventType, TextLines> = {
  'task.assigned': (task) => {
    const facts = [`priority ${task.priority}`, ...(task.deadline ? [`deadline ${task.deadline}`] : [])].join(', ');
    return [
      `${task.assigner} assigned a task to ${task.target} (${facts}):`, '', showText(task.task), '',
      ...(task.payload !== null ? ['Payload:', showValue(task.payload), ''] : []),
      ...(task.attempts > 0 ? [`This is delivery ${task.attempts + 1}; earlier ones were not finished.`, ''] : []),
      ...HOW_TO_REPLY(task.id),
    ];
  },
  'task.claimed': (task) => [`${task.target} claimed your task:`, '', showText(task.task)],
  'task.progress': (task, extra) => {
    const report = (extra.progress ?? {}) as { message?: string | null; progress?: number | null };
    const percent = typeof report.progress === 'number' ? ` (${Math.round(report.progress * 100)}%)` : '';
    return [
      `${task.target} reports progress on your task${percent}:`, '', showText(task.task),
      ...(report.message ? ['', showText(report.message)] : []),
    ];
  },
  'task.completed': (task) => [
    `${task.target} completed your task:`, '', showText(task.task), '', 'Result:', showValue(task.result),
  ],
  'task.failed': (task) => [
    `Your task assigned to ${task.target} failed:`, '', showText(task.task), '', `Error: ${showText(task.error ?? 'unknown')}`,
  ],
  'task.cancelled': (task) => [
    `The task assigned by ${task.assigner} to ${task.target} was cancelled:`, '', showText(task.task),
  ],
  'task.expired': (task) => [
    `Your task assigned to ${task.target} expired (deadline ${task.deadline}):`, '', showText(task.task),
  ],
};

/** The readable text part of a mail about a task event. */
export function taskText(type: string, task: Task, extra: Record<string, unknown>): string {
  const lines = TASK_TEXT[type as TaskEventType]?.(task, extra) ?? [`Task ${task.id}: ${type}.`, '', showText(task.task)];
  lines.push('', `-- `, `taskhub · task ${task.id} · status ${task.status}`);
  return `${lines.join('\n')}\n`;
}

/** The readable text part of a mail carrying a message. */
export function messageText(message: Message): string {
  return [
    `${message.from} wrote to ${message.to}:`,
    '',
    showText(message.body),
    '',
    'Reply to this mail to answer in the thread; the body of your reply becomes the message.',
    '',
    '-- ',
    `taskhub · message ${message.id} · thread ${message.threadId}`,
    '',
  ].join('\n');
}
