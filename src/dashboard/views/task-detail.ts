import { ApiError, type Api } from '../api.js';
import { fill, h, type Child } from '../dom.js';
import { jsonText, statusEl, timeEl } from '../format.js';
import { isOpen, type HubEvent, type Task } from '../types.js';

/** History entries shown for one task; a task that went round its lease many times keeps only the newest. */
export const HISTORY_SHOWN = 200;

interface Deps {
  api: Api;
  root: HTMLElement;
}

/** The selected task: its fields, payload, result or error, its history, and a cancel button while it is open. */
export function createTaskDetail({ api, root }: Deps) {
  let task: Task | undefined;
  let history: HubEvent[] = [];
  let notice = '';
  let token = 0;

  const render = () => {
    if (!task) return fill(root, h('p', { class: 'muted empty' }, notice || 'Select a task to see its history and result.'));
    const t = task;
    fill(
      root,
      h('div', { class: 'detail-head' }, statusEl(t.status), h('code', { class: 'id full', title: 'task id' }, t.id)),
      h('p', { class: 'task-text' }, t.task),
      h(
        'dl',
        { class: 'facts' },
        ...fact('kind', t.kind),
        ...fact('target', h('span', { class: 'mono' }, t.target)),
        ...fact('assigner', h('span', { class: 'mono' }, t.assigner)),
        ...fact('capability', t.capability ?? '—'),
        ...fact('priority', h('span', { class: `prio prio-${t.priority}` }, t.priority)),
        ...fact('attempts', String(t.attempts)),
        ...fact('created', timeEl(t.createdAt)),
        ...fact('claimed', timeEl(t.claimedAt)),
        ...fact('finished', timeEl(t.completedAt)),
        ...fact('deadline', timeEl(t.deadline)),
        ...fact('lease ends', timeEl(t.leaseExpiresAt)),
      ),
      t.error ? block('error', t.error, 'error') : null,
      t.result !== null && t.result !== undefined ? block('result', jsonText(t.result), 'result') : null,
      t.payload !== null && t.payload !== undefined ? block('payload', jsonText(t.payload)) : null,
      isOpen(t.status) ? h('button', { class: 'danger', attrs: { type: 'button' }, data: { action: 'cancel' }, onClick: () => void cancel(t.id) }, 'Cancel task') : null,
      notice ? h('p', { class: 'notice', attrs: { role: 'status' } }, notice) : null,
      h('h3', {}, 'History'),
      h('ol', { class: 'history' }, ...history.slice(-HISTORY_SHOWN).map(historyItem)),
    );
  };

  const cancel = async (id: string) => {
    try {
      const answer = await api.post<{ task: Task }>(`/api/tasks/${encodeURIComponent(id)}/cancel`);
      if (task?.id === id) updateTask(answer.task);
      notice = '';
    } catch (error) {
      notice = `Not cancelled: ${(error as Error).message}`;
    }
    render();
  };

  const updateTask = (next: Task) => {
    if (task && Date.parse(next.updatedAt) >= Date.parse(task.updatedAt)) task = next;
  };

  return {
    /** Shows a task: at once from what the caller knows of it, then from the hub with its history. */
    async show(id: string, known?: Task) {
      const mine = ++token;
      task = known;
      history = [];
      notice = '';
      if (known) render();
      else fill(root, h('p', { class: 'muted empty' }, 'Loading…'));
      try {
        const path = `/api/tasks/${encodeURIComponent(id)}`;
        const [fresh, events] = await Promise.all([api.get<{ task: Task }>(path), loadHistory(api, path)]);
        if (mine !== token) return;
        task ??= fresh.task;
        updateTask(fresh.task);
        history = mergeHistory(events, history);
      } catch (error) {
        if (mine !== token) return;
        notice = error instanceof ApiError && error.status === 404 ? 'This task no longer exists.' : (error as Error).message;
      }
      render();
    },

    /** A live event: when it is about the shown task, its history grows and its fields follow. */
    apply(event: HubEvent) {
      if (!task || event.taskId !== task.id) return;
      if (event.task) updateTask(event.task);
      history = mergeHistory(history, [event]);
      render();
    },

    render,
  };
}

function fact(label: string, value: Child): [HTMLElement, HTMLElement] {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function block(label: string, text: string, kind = ''): HTMLElement {
  return h('div', { class: `block ${kind}` }, h('h3', {}, label), h('pre', {}, text));
}

function historyItem(event: HubEvent): HTMLElement {
  const note = event.progress?.message ?? (event.type === 'task.failed' ? event.task?.error : null);
  const pct = typeof event.progress?.progress === 'number' ? `${Math.round(event.progress.progress * 100)}%` : null;
  return h(
    'li',
    { data: { type: event.type } },
    h('span', { class: `evtype ev-${event.type.replace('.', '-')}` }, event.type.replace('task.', '')),
    timeEl(event.at),
    pct ? h('span', { class: 'pct' }, pct) : null,
    note ? h('span', { class: 'note' }, note) : null,
  );
}

/** Both lists by id, without duplicates (a live event may also be in the fetched history). */
function mergeHistory(a: HubEvent[], b: HubEvent[]): HubEvent[] {
  const byId = new Map<number, HubEvent>();
  for (const e of [...a, ...b]) byId.set(e.id, e);
  return [...byId.values()].sort((x, y) => x.id - y.id).slice(-HISTORY_SHOWN);
}

/** Pages of history read at most when a task is shown; the dashboard keeps only the newest events of them. */
const HISTORY_PAGES = 10;

/** The task's history (`GET …/events`, paged), following `nextCursor` for up to `HISTORY_PAGES` pages. */
async function loadHistory(api: Deps['api'], path: string): Promise<HubEvent[]> {
  let events: HubEvent[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < HISTORY_PAGES; i++) {
    const query: string = cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`;
    const page: { events: HubEvent[]; nextCursor: string | null } = await api.get(`${path}/events${query}`);
    events = [...events, ...page.events].slice(-HISTORY_SHOWN);
    cursor = page.nextCursor;
    if (cursor === null) break;
  }
  return events;
}
