import type { Api } from '../api.js';
import { fill, h } from '../dom.js';
import { clip, idEl, statusEl, timeEl } from '../format.js';
import { TASK_STATUSES, type Stats, type Task, type TaskStatus } from '../types.js';

/** Tasks per page of the task table; the hub's list route allows up to 200. */
export const TASK_PAGE_SIZE = 50;
/** A page that a live event may have changed is reloaded at most this often (ms). */
const RELOAD_THROTTLE_MS = 1000;

type Filter = TaskStatus | 'all';

interface Deps {
  api: Api;
  /** The table element's container, the status tabs and the pager. */
  root: HTMLElement;
  tabs: HTMLElement;
  pager: HTMLElement;
  onSelect: (task: Task) => void;
}

/**
 * The task table: one page at a time (never the whole list, which may hold many thousands), filtered by status,
 * kept current by live events. Rows on the page are updated in place; new tasks appear at the top of page 1.
 */
export function createTasksView({ api, root, tabs, pager, onSelect }: Deps) {
  let filter: Filter = 'all';
  /** Cursors of the pages before the current one; the current page's cursor is the last. */
  let cursors: (string | undefined)[] = [undefined];
  let nextCursor: string | null = null;
  let rows = new Map<string, { task: Task; tr: HTMLTableRowElement }>();
  let selected: string | undefined;
  /** Page loads run one after another; each reads the filter and cursor when it starts. */
  let chain = Promise.resolve();
  let inFlight = 0;
  /** True while a page is on its way: live events are held and applied after it. */
  let fetching = false;
  let queued: Task[] = [];
  /** True once new tasks pushed rows off the page: the older-page cursor must be fetched again. */
  let stale = false;
  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  let counts: Stats['tasks'] = {};
  const tbody = h('tbody');
  const status = h('p', { class: 'muted empty' });
  fill(root, h('table', { class: 'tasks' }, head(), tbody), status);

  const matches = (task: Task) => filter === 'all' || task.status === filter;
  const onFirstPage = () => cursors.length === 1;

  const rowOf = (task: Task) => {
    const tr = h(
      'tr',
      { class: task.id === selected ? 'selected' : '', data: { id: task.id, status: task.status }, onClick: () => select(task) },
      h('td', {}, idEl(task.id)),
      h('td', {}, statusEl(task.status)),
      h('td', { class: 'text', title: clip(task.task, 500) }, task.kind === 'rpc' ? h('span', { class: 'chip' }, 'rpc') : null, clip(task.task, 90)),
      h('td', { class: 'mono' }, task.target),
      h('td', { class: 'mono muted' }, task.assigner),
      h('td', {}, h('span', { class: `prio prio-${task.priority}` }, task.priority)),
      h('td', {}, timeEl(task.updatedAt)),
    );
    return tr;
  };

  const select = (task: Task) => {
    selected = task.id;
    for (const { tr } of rows.values()) tr.classList.toggle('selected', tr.dataset.id === task.id);
    onSelect(task);
  };

  const renderTabs = () => {
    const total = TASK_STATUSES.reduce((n, s) => n + (counts[s] ?? 0), 0);
    const tab = (value: Filter, label: string, n: number) =>
      h(
        'button',
        { class: `tab ${value === filter ? 'active' : ''} tab-${value}`, attrs: { type: 'button' }, data: { filter: value }, onClick: () => setFilter(value) },
        label,
        h('span', { class: 'count' }, n.toLocaleString('en')),
      );
    fill(tabs, tab('all', 'all', total), ...TASK_STATUSES.map((s) => tab(s, s.replace('_', ' '), counts[s] ?? 0)));
  };

  const renderPager = () => {
    const page = cursors.length;
    const button = (label: string, enabled: boolean, go: () => void) =>
      h('button', { attrs: { type: 'button', ...(enabled ? {} : { disabled: '' }) }, onClick: go }, label);
    fill(
      pager,
      button('← Newer', page > 1, () => void turn(-1)),
      h('span', { class: 'muted' }, `page ${page} · ${TASK_PAGE_SIZE} per page`),
      button('Older →', nextCursor !== null || stale, () => void turn(1)),
    );
  };

  const render = (tasks: Task[]) => {
    rows = new Map(tasks.map((task) => [task.id, { task, tr: rowOf(task) }]));
    tbody.replaceChildren(...[...rows.values()].map((r) => r.tr));
    status.textContent = tasks.length === 0 ? 'No tasks here yet.' : '';
    renderPager();
  };

  const load = async () => {
    const query = new URLSearchParams({ limit: String(TASK_PAGE_SIZE) });
    if (filter !== 'all') query.set('status', filter);
    const cursor = cursors[cursors.length - 1];
    if (cursor) query.set('cursor', cursor);
    fetching = true;
    try {
      const page = await api.get<{ tasks: Task[]; nextCursor: string | null }>(`/api/tasks?${query}`);
      nextCursor = page.nextCursor;
      stale = false;
      render(page.tasks);
    } catch (error) {
      status.textContent = `Tasks could not be loaded: ${(error as Error).message}`;
    } finally {
      fetching = false;
    }
    // Events that arrived while the page was on its way may be newer than it.
    const late = queued;
    queued = [];
    for (const task of late) apply(task);
  };

  const reload = (): Promise<void> => {
    // One load running and one waiting is enough: the waiting one will read the newest filter and cursor.
    if (inFlight >= 2) return chain;
    inFlight += 1;
    chain = chain.then(load).finally(() => {
      inFlight -= 1;
    });
    return chain;
  };

  const scheduleReload = () => {
    reloadTimer ??= setTimeout(() => {
      reloadTimer = undefined;
      void reload();
    }, RELOAD_THROTTLE_MS);
  };

  const setFilter = (value: Filter) => {
    filter = value;
    cursors = [undefined];
    renderTabs();
    void reload();
  };

  const turn = async (step: 1 | -1) => {
    if (step === 1) {
      if (stale) await reload();
      if (!nextCursor) return;
      cursors.push(nextCursor);
    } else if (cursors.length > 1) {
      cursors.pop();
    }
    await reload();
  };

  /** A task as a live event carries it. */
  const apply = (task: Task) => {
    if (fetching) return void queued.push(task);
    const row = rows.get(task.id);
    if (row) {
      if (Date.parse(task.updatedAt) < Date.parse(row.task.updatedAt)) return;
      const tr = rowOf(task);
      row.tr.replaceWith(tr);
      rows.set(task.id, { task, tr });
      return;
    }
    if (!onFirstPage() || !matches(task)) return;
    if (task.createdAt !== task.updatedAt) return scheduleReload();
    const tr = rowOf(task);
    rows = new Map([[task.id, { task, tr }], ...rows]);
    tbody.prepend(tr);
    status.textContent = '';
    while (rows.size > TASK_PAGE_SIZE) {
      const [lastId, last] = [...rows].at(-1)!;
      last.tr.remove();
      rows.delete(lastId);
      stale = true;
    }
    renderPager();
  };

  renderTabs();
  return {
    reload,
    apply,
    setCounts(next: Stats['tasks']) {
      counts = next;
      renderTabs();
    },
    stop() {
      clearTimeout(reloadTimer);
      reloadTimer = undefined;
    },
  };
}

function head(): HTMLTableSectionElement {
  const th = (label: string) => h('th', {}, label);
  return h('thead', {}, h('tr', {}, th('id'), th('status'), th('task'), th('target'), th('assigner'), th('priority'), th('updated')));
}
