/**
 * The taskhub dashboard: signs in with an admin token kept in sessionStorage, follows the hub's event stream and
 * keeps every view current without reloading the page. Served from public/ as plain ES modules.
 */
import { createApi } from './api.js';
import { byId } from './dom.js';
import { refreshTimes } from './format.js';
import { createOpenTasks } from './open-tasks.js';
import { askForToken, storedToken, storeToken } from './session.js';
import { createLiveStream, type SseFrame, type StreamState } from './sse.js';
import type { HubEvent, Stats } from './types.js';
import { createAgentsView } from './views/agents.js';
import { createEventsView } from './views/events.js';
import { createMailboxView } from './views/mailbox.js';
import { renderStats } from './views/stats.js';
import { createWebhooksView } from './views/webhooks.js';
import { createTaskDetail } from './views/task-detail.js';
import { createTaskForm } from './views/task-form.js';
import { createTasksView } from './views/tasks.js';

/** Agents (presence has no events), stats and the mailbox are re-read this often (ms). */
export const POLL_MS = 5000;
/** A burst of events refreshes the figures at most this often (ms). */
const FIGURES_THROTTLE_MS = 1000;
/** Events shown at sign-in from before the page was opened, so that the list does not start empty. */
export const EVENTS_BACKFILL = 50;

function createDashboard() {
  let token: string | null = storedToken();
  let needsSync = true;
  // Events up to this id are the backfill: shown in the list only, since the views are read fresh on `ready`.
  let backfillThrough = 0;
  let pollTimer: ReturnType<typeof setInterval> | undefined;
  const main = byId('app');
  const login = byId<HTMLFormElement>('login');

  const signOut = (message: string) => {
    stop();
    storeToken((token = null));
    main.hidden = true;
    askForToken(login, start, message);
  };

  const api = createApi({ token: () => token, onUnauthorized: () => signOut('The hub refused the token; enter an admin token.') });
  const openTasks = createOpenTasks(api);
  const detail = createTaskDetail({ api, root: byId('task-detail') });
  const select = (id: string) => void detail.show(id);
  const tasks = createTasksView({ api, root: byId('tasks'), tabs: byId('task-tabs'), pager: byId('task-pager'), onSelect: (t) => void detail.show(t.id, t) });
  const form = createTaskForm({ api, form: byId<HTMLFormElement>('task-form'), onCreated: (t) => tasks.apply(t), onSelectTask: select });
  const webhooks = createWebhooksView({ api, root: byId('webhooks') });
  const agents = createAgentsView({
    api,
    root: byId('agents'),
    openTasks,
    onAgents: (list) => {
      form.setAgents(list);
      webhooks.setAgents(list);
    },
  });
  const events = createEventsView({ root: byId<HTMLOListElement>('events'), onSelectTask: select });
  const mailbox = createMailboxView({ api, outbox: byId('outbox'), mailbox: byId('mailbox') });

  const refreshFigures = async () => {
    try {
      const stats = await api.get<Stats>('/api/stats');
      renderStats(byId('stats'), stats);
      tasks.setCounts(stats.tasks);
      mailbox.renderOutbox(stats);
      webhooks.renderStats(stats);
    } catch {
      // The connection state says when the hub is away; the figures stay as they were.
    }
  };
  const figures = throttle(() => {
    void refreshFigures();
    agents.render();
  }, FIGURES_THROTTLE_MS);
  const newAgents = throttle(() => void agents.load(), FIGURES_THROTTLE_MS);

  /** Reads everything again through the REST routes: at start and after the hub says `reset`. */
  const resync = () =>
    Promise.all([tasks.reload(), openTasks.load().then(agents.render, () => {}), agents.load(), refreshFigures(), mailbox.load(), webhooks.refresh()]);

  const onFrame = (frame: SseFrame) => {
    if (frame.event === 'ready') {
      showState('live');
      if (needsSync) void resync();
      needsSync = false;
      return;
    }
    if (frame.event === 'reset') return void resync();
    let event: HubEvent;
    try {
      event = JSON.parse(frame.data) as HubEvent;
    } catch {
      return;
    }
    events.add(event);
    if (event.id <= backfillThrough) return;
    if (event.task) {
      tasks.apply(event.task);
      openTasks.apply(event.task);
      if (!agents.knows(event.task.target)) newAgents.run();
    }
    detail.apply(event);
    figures.run();
  };

  const showState = (state: StreamState, detailText = '') => {
    if (state === 'stopped') return void showSignedOut();
    const el = byId('conn');
    el.className = `conn conn-${state}`;
    el.textContent = state;
    el.title = detailText;
  };

  /** The stream stops only on signing out: say so, and whether the hub answers, rather than a red "offline". */
  const showSignedOut = async () => {
    const el = byId('conn');
    el.className = 'conn conn-idle';
    el.textContent = 'signed out';
    el.title = '';
    const up = await fetch('/healthz', { cache: 'no-store' }).then((r) => r.ok, () => false);
    if (token) return; // Signed in meanwhile: the stream's state is shown instead.
    el.className = `conn ${up ? 'conn-up' : 'conn-stopped'}`;
    el.textContent = up ? 'hub up · signed out' : 'hub unreachable';
    el.title = up ? 'The hub answers; sign in with an admin token to follow it.' : 'The hub does not answer /healthz.';
  };

  /** Where the first stream starts: EVENTS_BACKFILL events back from the newest, so the list has them. */
  const backfillFrom = async (): Promise<string> => {
    try {
      const lastId = (await api.get<Stats>('/api/stats')).events?.lastId ?? 0;
      backfillThrough = lastId;
      return String(Math.max(0, lastId - EVENTS_BACKFILL));
    } catch {
      return '';
    }
  };

  const stream = createLiveStream({
    url: '/api/events',
    token: () => token,
    onFrame,
    onState: showState,
    onUnauthorized: () => signOut('The hub refused the token for the event stream; enter an admin token.'),
  });

  function start(accepted: string) {
    storeToken((token = accepted));
    main.hidden = false;
    needsSync = true;
    detail.render();
    // The snapshot is read once the stream is open (on `ready`), so no event falls between the two.
    void backfillFrom().then((from) => {
      if (token === accepted) stream.start(from);
    });
    pollTimer = setInterval(() => {
      void agents.load();
      void refreshFigures();
      void mailbox.load();
      webhooks.poll();
      refreshTimes(document);
    }, POLL_MS);
  }

  function stop() {
    stream.stop();
    clearInterval(pollTimer);
    pollTimer = undefined;
    figures.stop();
    newAgents.stop();
    tasks.stop();
    events.stop();
    form.stop();
  }

  byId('sign-out').addEventListener('click', () => signOut('Signed out. The token was forgotten.'));
  const pause = byId<HTMLButtonElement>('events-pause');
  pause.addEventListener('click', () => {
    const paused = pause.getAttribute('aria-pressed') !== 'true';
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    events.setPaused(paused);
  });

  return {
    boot() {
      if (token) start(token);
      else {
        void showSignedOut();
        askForToken(login, start);
      }
    },
  };
}

/** Runs `fn` at most once per `ms`, at the end of the window, however often it is asked for. */
function throttle(fn: () => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    run() {
      timer ??= setTimeout(() => {
        timer = undefined;
        fn();
      }, ms);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

createDashboard().boot();
