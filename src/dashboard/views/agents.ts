import type { Api } from '../api.js';
import { fill, h } from '../dom.js';
import { timeEl } from '../format.js';
import type { OpenTasks } from '../open-tasks.js';
import type { Agent } from '../types.js';

/** Agents drawn in the table; a fleet larger than this shows a count of the rest. */
export const AGENTS_SHOWN = 300;

interface Deps {
  api: Api;
  root: HTMLElement;
  openTasks: OpenTasks;
  /** Called with every agent list loaded, e.g. to fill the form's target list. */
  onAgents: (agents: Agent[]) => void;
}

/** Agents, connected ones first: streams, capabilities, last seen and open tasks. */
export function createAgentsView({ api, root, openTasks, onAgents }: Deps) {
  let agents: Agent[] = [];
  let error = '';

  const row = (agent: Agent) => {
    const open = openTasks.count(agent.name);
    return h(
      'tr',
      { data: { agent: agent.name } },
      h(
        'td',
        {},
        h('span', { class: `dot ${agent.connected ? 'on' : 'off'}`, title: agent.connected ? 'connected' : 'not connected' }),
        h('span', { class: 'mono name' }, agent.name),
        agent.description ? h('div', { class: 'muted small' }, agent.description) : null,
      ),
      h('td', { class: 'num' }, agent.connected ? String(agent.streams) : h('span', { class: 'muted' }, '0')),
      h('td', {}, ...(agent.capabilities.length ? agent.capabilities.map((c) => h('span', { class: 'chip' }, c)) : [h('span', { class: 'muted' }, '—')])),
      h('td', {}, agent.connected ? h('span', { class: 'live' }, 'now') : agent.lastSeen ? timeEl(agent.lastSeen) : h('span', { class: 'muted' }, 'never')),
      h('td', { class: 'num', data: { open: String(open.n) } }, `${open.n}${open.exact ? '' : '+'}`),
    );
  };

  const render = () => {
    if (error) return fill(root, h('p', { class: 'muted empty' }, error));
    if (agents.length === 0) return fill(root, h('p', { class: 'muted empty' }, 'No agents registered yet.'));
    const th = (label: string, cls = '') => h('th', { class: cls }, label);
    const shown = agents.slice(0, AGENTS_SHOWN);
    fill(
      root,
      h(
        'table',
        { class: 'agents' },
        h('thead', {}, h('tr', {}, th('agent'), th('streams', 'num'), th('capabilities'), th('last seen'), th('open', 'num'))),
        h('tbody', {}, ...shown.map(row)),
      ),
      agents.length > shown.length ? h('p', { class: 'muted' }, `and ${agents.length - shown.length} more`) : null,
    );
  };

  return {
    async load() {
      try {
        const answer = await api.get<{ agents: Agent[] }>('/api/agents');
        agents = answer.agents.sort((a, b) => Number(b.connected) - Number(a.connected) || a.name.localeCompare(b.name));
        error = '';
        onAgents(agents);
      } catch (e) {
        error = `Agents could not be loaded: ${(e as Error).message}`;
      }
      render();
    },
    render,
    /** Whether the last list loaded has this agent (a live event may name one registered since). */
    knows: (name: string) => agents.some((a) => a.name === name),
  };
}
