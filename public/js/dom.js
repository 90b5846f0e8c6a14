/**
 * The one way the dashboard builds DOM. Children that are strings become text nodes, so nothing a user or an
 * agent wrote is ever parsed as HTML; there is no `innerHTML` anywhere in the dashboard (a test checks).
 */
export function h(tag, props = {}, ...children) {
    const el = document.createElement(tag);
    if (props.class)
        el.className = props.class;
    if (props.title)
        el.title = props.title;
    for (const [key, value] of Object.entries(props.data ?? {}))
        el.dataset[key] = value;
    for (const [key, value] of Object.entries(props.attrs ?? {})) {
        if (/^on/i.test(key))
            throw new Error(`refusing to set the handler attribute ${key}`);
        el.setAttribute(key, value);
    }
    if (props.onClick)
        el.addEventListener('click', props.onClick);
    append(el, children);
    return el;
}
export function append(parent, children) {
    for (const child of children) {
        if (child === null || child === undefined || child === false)
            continue;
        parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
}
/** Replaces an element's children. */
export function fill(parent, ...children) {
    parent.replaceChildren();
    append(parent, children);
}
export function byId(id) {
    const el = document.getElementById(id);
    if (!el)
        throw new Error(`the page has no #${id}`);
    return el;
}
