import { fill, h } from '../dom.js';
import type { Stats } from '../types.js';

/** The figures across the top: agents, open and finished tasks, waiting RPCs, the outbox, webhooks, the newest event. */
export function renderStats(root: HTMLElement, stats: Stats): void {
  const n = (x: number | undefined) => (x ?? 0).toLocaleString('en');
  const card = (key: string, label: string, value: string, sub = '', cls = '') =>
    h('div', { class: `card ${cls}`, data: { stat: key } }, h('strong', {}, value), h('span', {}, label), sub ? h('small', {}, sub) : null);
  const t = stats.tasks;
  const open = (t.assigned ?? 0) + (t.claimed ?? 0) + (t.in_progress ?? 0);
  const outbox = stats.outbox;
  const webhooks = stats.webhooks;
  fill(
    root,
    card('agents', 'agents connected', `${n(stats.agents.connected)} / ${n(stats.agents.total)}`, 'connected / registered'),
    card('open', 'open tasks', n(open), `${n(t.assigned)} assigned · ${n(t.claimed)} claimed · ${n(t.in_progress)} in progress`, 'status-in_progress'),
    card('completed', 'completed', n(t.completed), '', 'status-completed'),
    card('failed', 'failed', n(t.failed), `${n(t.cancelled)} cancelled · ${n(t.expired)} expired`, 'status-failed'),
    card('rpc', 'waiting rpc', stats.rpc ? n(stats.rpc.waiting) : 'n/a', stats.rpc ? 'callers held open' : 'not available'),
    card(
      'outbox',
      'outbox queued',
      outbox ? n(outbox.queued) : 'n/a',
      outbox ? `${n(outbox.sent)} sent · ${n(outbox.failed)} failed` : 'not available',
      outbox?.failed ? 'warn' : '',
    ),
    card(
      'webhooks',
      'webhooks queued',
      webhooks ? n(webhooks.queued) : 'n/a',
      webhooks ? `${n(webhooks.sent)} sent · ${n(webhooks.failed)} failed` : 'not available',
      webhooks?.failed ? 'warn' : '',
    ),
    card('events', 'last event', stats.events ? `#${stats.events.lastId}` : 'n/a', 'hub-wide sequence'),
  );
}
