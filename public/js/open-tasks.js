import { isOpen, OPEN_STATUSES } from './types.js';
/** Open tasks the page tracks to count them per agent; past this the counts are shown as lower bounds. */
export const OPEN_TASKS_TRACKED = 2000;
const PAGE = 200;
/**
 * Which agent holds which open task, loaded once through the REST routes and then kept current by live events,
 * so the agents table can show open tasks per agent without asking the hub for each agent.
 */
export function createOpenTasks(api) {
    let targets = new Map();
    let perAgent = new Map();
    let complete = false;
    let fetching = false;
    let queued = [];
    const set = (id, target) => {
        if (targets.has(id) || targets.size >= OPEN_TASKS_TRACKED)
            return;
        targets.set(id, target);
        perAgent.set(target, (perAgent.get(target) ?? 0) + 1);
    };
    const remove = (id) => {
        const target = targets.get(id);
        if (target === undefined)
            return;
        targets.delete(id);
        perAgent.set(target, (perAgent.get(target) ?? 1) - 1);
    };
    const apply = (task) => {
        if (fetching)
            return void queued.push(task);
        if (isOpen(task.status))
            set(task.id, task.target);
        else
            remove(task.id);
    };
    return {
        apply,
        /** Reads every open task, up to `OPEN_TASKS_TRACKED`. */
        async load() {
            fetching = true;
            targets = new Map();
            perAgent = new Map();
            let truncated = false;
            try {
                for (const status of OPEN_STATUSES) {
                    let cursor = null;
                    do {
                        const query = new URLSearchParams({ status, limit: String(PAGE) });
                        if (cursor)
                            query.set('cursor', cursor);
                        const page = await api.get(`/api/tasks?${query}`);
                        for (const task of page.tasks)
                            set(task.id, task.target);
                        cursor = page.nextCursor;
                        truncated ||= targets.size >= OPEN_TASKS_TRACKED && cursor !== null;
                    } while (cursor && !truncated);
                    if (truncated)
                        break;
                }
                complete = !truncated;
            }
            finally {
                fetching = false;
                const late = queued;
                queued = [];
                for (const task of late)
                    apply(task);
            }
        },
        /** Open tasks of `agent`, and whether the figure is exact. */
        count(agent) {
            return { n: perAgent.get(agent) ?? 0, exact: complete };
        },
    };
}
