import { ApiError } from '../api.js';
import { byId, fill, h } from '../dom.js';
import { idEl, jsonText, statusEl } from '../format.js';
/**
 * The form that assigns a task, or calls an agent with rpc and shows the answer when it comes. The rpc call holds
 * a request open for up to its timeout; `stop()` abandons it.
 */
export function createTaskForm({ api, form, onCreated, onSelectTask }) {
    const target = byId('f-target');
    const capability = byId('f-capability');
    const capabilities = byId('f-capabilities');
    const priority = byId('f-priority');
    const text = byId('f-task');
    const payload = byId('f-payload');
    const timeout = byId('f-timeout');
    const rpcButton = byId('f-rpc');
    const result = byId('f-result');
    let rpcCall;
    const say = (kind, ...children) => fill(result, h('div', { class: `outcome ${kind}`, attrs: { role: 'status' } }, ...children));
    const describe = (error) => (error instanceof ApiError ? error.describe() : error.message);
    /** The body both actions send, or a message saying what to fix. */
    const body = () => {
        const b = { task: text.value.trim(), priority: priority.value };
        if (!b.task)
            return 'Write what the task is.';
        if (target.value)
            b.target = target.value;
        if (capability.value.trim())
            b.capability = capability.value.trim();
        if (!b.target && !b.capability)
            return 'Choose a target agent, a capability, or both.';
        if (payload.value.trim()) {
            try {
                b.payload = JSON.parse(payload.value);
            }
            catch {
                return 'The payload is not valid JSON.';
            }
        }
        return b;
    };
    const assign = async () => {
        const b = body();
        if (typeof b === 'string')
            return say('error', b);
        try {
            const { task } = await api.post('/api/tasks', b);
            say('ok', 'Assigned ', link(task.id), ' to ', h('span', { class: 'mono' }, task.target), '.');
            text.value = '';
            onCreated(task);
        }
        catch (error) {
            say('error', `Not assigned: ${describe(error)}`);
        }
    };
    const call = async () => {
        const b = body();
        if (typeof b === 'string')
            return say('error', b);
        rpcCall?.abort();
        const controller = (rpcCall = new AbortController());
        rpcButton.disabled = true;
        say('wait', `Waiting for ${b.target ?? `an agent with ${b.capability}`} to answer…`);
        try {
            const answer = await api.post('/api/tasks/rpc', { ...b, timeout: Number(timeout.value) || 60 }, controller.signal);
            say('ok', link(answer.taskId), ' ', statusEl(answer.status), h('pre', {}, jsonText(answer.error ?? answer.result)));
        }
        catch (error) {
            if (controller.signal.aborted)
                return;
            if (error instanceof ApiError && error.routeMissing)
                say('error', 'RPC is not available on this hub.');
            else
                say('error', `The call failed: ${describe(error)}`);
        }
        finally {
            if (rpcCall === controller)
                rpcCall = undefined;
            rpcButton.disabled = false;
        }
    };
    const link = (id) => h('a', { attrs: { href: '#' }, onClick: (e) => (e.preventDefault(), onSelectTask(id)) }, idEl(id));
    form.addEventListener('submit', (event) => {
        event.preventDefault();
        void assign();
    });
    rpcButton.addEventListener('click', () => void call());
    return {
        /** Fills the target and capability choices. */
        setAgents(agents) {
            const chosen = target.value;
            fill(target, h('option', { attrs: { value: '' } }, '(route by capability)'), ...agents.map((a) => h('option', { attrs: { value: a.name } }, a.name)));
            target.value = agents.some((a) => a.name === chosen) ? chosen : '';
            const caps = [...new Set(agents.flatMap((a) => a.capabilities))].sort();
            fill(capabilities, ...caps.map((c) => h('option', { attrs: { value: c } })));
        },
        stop() {
            rpcCall?.abort();
        },
    };
}
