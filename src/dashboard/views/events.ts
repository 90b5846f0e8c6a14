import { h } from '../dom.js';
import { clip, idEl, timeEl } from '../format.js';
import type { HubEvent } from '../types.js';

/** Events the page keeps (and shows); older ones are forgotten, so a busy hub never grows the page. */
export const EVENTS_KEPT = 500;
/** Live events are drawn in batches at most this often (ms), so a burst costs one layout, not thousands. */
const FLUSH_MS = 100;

interface Deps {
  root: HTMLOListElement;
  onSelectTask: (taskId: string) => void;
}

/** The live event stream, newest first, capped at `EVENTS_KEPT`. */
export function createEventsView({ root, onSelectTask }: Deps) {
  let pending: HubEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let paused = false;

  const item = (event: HubEvent): HTMLLIElement => {
    const task = event.task;
    const message = event.message;
    return h(
      'li',
      { data: { id: String(event.id), type: event.type } },
      h('span', { class: 'mono muted evid' }, `#${event.id}`),
      h('span', { class: `evtype ev-${event.type.replace('.', '-')}` }, event.type),
      event.taskId ? h('a', { class: 'tasklink', attrs: { href: '#' }, onClick: (e) => (e.preventDefault(), onSelectTask(event.taskId!)) }, idEl(event.taskId)) : null,
      task ? h('span', { class: 'mono who' }, `${task.assigner} → ${task.target}`) : null,
      message ? h('span', { class: 'mono who' }, `${message.from} → ${message.to}`) : null,
      h('span', { class: 'evtext' }, clip(event.progress?.message ?? message?.subject ?? task?.task ?? '', 80)),
      timeEl(event.at),
    );
  };

  const flush = () => {
    timer = undefined;
    if (paused || pending.length === 0) return;
    const batch = pending.slice(-EVENTS_KEPT);
    pending = [];
    const fragment = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i--) fragment.append(item(batch[i]!));
    root.prepend(fragment);
    while (root.childElementCount > EVENTS_KEPT) root.lastElementChild!.remove();
    root.dataset.count = String(root.childElementCount);
  };

  return {
    add(event: HubEvent) {
      pending.push(event);
      // Held events are capped too, for while the list is paused or the tab is in the background.
      if (pending.length > EVENTS_KEPT * 2) pending = pending.slice(-EVENTS_KEPT);
      timer ??= setTimeout(flush, FLUSH_MS);
    },
    /** While paused the list stands still (to read it); events keep being collected, up to the cap. */
    setPaused(value: boolean) {
      paused = value;
      if (!paused) timer ??= setTimeout(flush, 0);
    },
    clear() {
      pending = [];
      root.replaceChildren();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
