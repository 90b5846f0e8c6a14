import { ApiError, type Api } from '../api.js';
import { fill, h } from '../dom.js';
import { clip, timeEl } from '../format.js';
import type { Agent, DeliveryCounts, FailedDelivery, Stats, WebhookState } from '../types.js';

/** Agents whose webhook is read, first by name: the API has no list of webhooks, so each one is one GET. */
export const WEBHOOK_AGENTS_CHECKED = 100;
/** GETs in flight at once while reading them. */
const PARALLEL_READS = 4;
/** Without any change seen, the webhooks are read again after this long (ms): a webhook just set shows by then. */
export const WEBHOOKS_REFRESH_MS = 30_000;
/** A change in the hub's webhook counts reads them again, but not sooner than this after the last read (ms). */
export const WEBHOOKS_MIN_INTERVAL_MS = 5000;
/** Failed deliveries listed per agent (the hub answers its newest 100). */
export const FAILED_SHOWN = 20;

interface Deps {
  api: Api;
  root: HTMLElement;
}

type Entry = { agent: string; state: WebhookState };

const seg = encodeURIComponent;

/**
 * Each agent's webhook: URL, event types, queued/sent/failed, and its failed deliveries with a button that sends
 * them again. Read again when the agents or the hub's webhook counts change, so a quiet hub is not asked
 * every poll for every agent.
 */
export function createWebhooksView({ api, root }: Deps) {
  let available = true;
  let names: string[] = [];
  let entries: Entry[] = [];
  let error = '';
  let countsBefore = '';
  let reading: Promise<void> | undefined;
  let again = false;
  let readAt = 0;
  // Until the first agent list arrives there is nothing to read: the panel says "loading", not "none".
  let agentsKnown = false;
  let stale = false;
  const notes = new Map<string, string>();

  const readOne = async (agent: string): Promise<Entry | undefined> => {
    try {
      return { agent, state: await api.get<WebhookState>(`/api/agents/${seg(agent)}/webhook`) };
    } catch (e) {
      if (e instanceof ApiError && e.routeMissing) available = false;
      else if (!(e instanceof ApiError && e.status === 404)) throw e;
      return undefined;
    }
  };

  const readAll = async () => {
    readAt = Date.now();
    stale = false;
    const found: Entry[] = [];
    const queue = names.slice(0, WEBHOOK_AGENTS_CHECKED);
    const worker = async () => {
      for (let agent = queue.shift(); agent !== undefined && available; agent = queue.shift()) {
        const entry = await readOne(agent);
        if (entry) found.push(entry);
      }
    };
    try {
      await Promise.all(Array.from({ length: PARALLEL_READS }, worker));
      entries = found.sort((a, b) => a.agent.localeCompare(b.agent));
      error = '';
    } catch (e) {
      error = `Webhooks could not be loaded: ${(e as Error).message}`;
    }
    render();
  };

  /** One read at a time; a change during a read is read once more after it. */
  const refresh = (): Promise<void> => {
    if (!available || !agentsKnown) return Promise.resolve();
    if (reading) {
      again = true;
      return reading;
    }
    reading = readAll().finally(() => {
      reading = undefined;
      if (again) {
        again = false;
        void refresh();
      }
    });
    return reading;
  };

  const retry = async (agent: string) => {
    try {
      const { requeued } = await api.post<{ requeued: number }>(`/api/agents/${seg(agent)}/webhook/retry`);
      notes.set(agent, `${requeued} queued again`);
    } catch (e) {
      notes.set(agent, `Retry refused: ${e instanceof ApiError ? e.describe() : (e as Error).message}`);
    }
    await refresh();
  };

  const figure = (label: string, n: number, cls = '') =>
    h('div', { class: `figure ${cls}`, data: { figure: label } }, h('strong', {}, n.toLocaleString('en')), h('span', {}, label));

  const figures = (d: DeliveryCounts) =>
    h('div', { class: 'figures' }, figure('queued', d.queued, 'f-queued'), figure('sent', d.sent, 'f-sent'), figure('failed', d.failed, d.failed ? 'f-failed' : ''));

  const failedTable = (failed: FailedDelivery[]) =>
    h(
      'table',
      { class: 'failed-deliveries' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'event'), h('th', { class: 'num' }, 'tries'), h('th', {}, 'last error'), h('th', {}, 'last try'))),
      h(
        'tbody',
        {},
        ...failed.slice(0, FAILED_SHOWN).map((f) =>
          h('tr', { data: { event: String(f.eventId) } }, h('td', { class: 'num mono' }, `#${f.eventId}`), h('td', { class: 'num' }, String(f.attempts)), h('td', {}, clip(f.lastError ?? '—', 120)), h('td', {}, timeEl(f.lastAttemptAt))),
        ),
      ),
    );

  const item = ({ agent, state }: Entry) => {
    const { webhook, deliveries, failed } = state;
    const note = notes.get(agent);
    return h(
      'li',
      { data: { agent } },
      h('div', { class: 'mail-head' }, h('span', { class: 'mono name' }, agent), h('span', {}, 'since ', timeEl(webhook.createdAt))),
      h('div', { class: 'mono small webhook-url', title: webhook.url }, clip(webhook.url, 80)),
      h('div', { class: 'small' }, ...(webhook.events === null ? [h('span', { class: 'muted' }, 'all events')] : webhook.events.map((t) => h('span', { class: 'chip' }, t)))),
      figures(deliveries),
      failed.length ? failedTable(failed) : null,
      failed.length > FAILED_SHOWN ? h('p', { class: 'muted small' }, `and ${failed.length - FAILED_SHOWN} more`) : null,
      failed.length ? h('button', { class: 'quiet', data: { retry: agent }, onClick: () => void retry(agent) }, 'Send failed again') : null,
      note ? h('p', { class: 'muted small', data: { note: agent } }, note) : null,
    );
  };

  function render() {
    if (!agentsKnown) return fill(root, h('p', { class: 'muted empty' }, 'Loading…'));
    if (!available) return fill(root, h('p', { class: 'muted empty' }, 'Webhooks are not available on this hub.'));
    if (error) return fill(root, h('p', { class: 'muted empty' }, error));
    if (entries.length === 0) return fill(root, h('p', { class: 'muted empty' }, 'No agent has a webhook.'));
    fill(
      root,
      h('ul', { class: 'webhooks mails' }, ...entries.map(item)),
      names.length > WEBHOOK_AGENTS_CHECKED ? h('p', { class: 'muted small' }, `only the first ${WEBHOOK_AGENTS_CHECKED} agents are checked`) : null,
    );
  }

  return {
    /** The agents just loaded: read their webhooks again when the set of names changed. */
    setAgents(agents: Agent[]) {
      const next = agents.map((a) => a.name).sort();
      if (agentsKnown && next.join('\n') === names.join('\n')) return;
      agentsKnown = true;
      names = next;
      void refresh();
    },
    /**
     * The hub's figures: read again when its webhook counts moved (a delivery queued, sent or failed), at once
     * if the last read is older than WEBHOOKS_MIN_INTERVAL_MS, else at the next poll.
     */
    renderStats(stats: Stats) {
      const counts = JSON.stringify(stats.webhooks ?? null);
      if (counts === countsBefore) return;
      countsBefore = counts;
      if (Date.now() - readAt >= WEBHOOKS_MIN_INTERVAL_MS) void refresh();
      else stale = true;
    },
    /** Called at every poll: reads again if the counts moved since the last read, or WEBHOOKS_REFRESH_MS passed. */
    poll() {
      if (stale || Date.now() - readAt >= WEBHOOKS_REFRESH_MS) void refresh();
    },
    refresh,
    render,
  };
}
