import { h } from './dom.js';
/** The first 8 characters of a UUID: enough to tell tasks apart on screen; the full id is in the title. */
export function shortId(id) {
    return id.slice(0, 8);
}
/** "just now", "42s ago", "5m ago", "3h ago", "2d ago"; "in 5m" for times ahead. */
export function relativeTime(iso, now = Date.now()) {
    const diff = now - Date.parse(iso);
    if (Number.isNaN(diff))
        return '—';
    const ahead = diff < 0;
    const s = Math.abs(diff) / 1000;
    if (s < 5)
        return 'just now';
    const text = s < 60 ? `${Math.floor(s)}s` : s < 3600 ? `${Math.floor(s / 60)}m` : s < 86_400 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86_400)}d`;
    return ahead ? `in ${text}` : `${text} ago`;
}
/** A `<time>` showing a relative time; `refreshTimes` keeps it current. */
export function timeEl(iso) {
    if (!iso)
        return h('span', { class: 'muted' }, '—');
    const el = h('time', { title: iso, attrs: { datetime: iso } }, relativeTime(iso));
    return el;
}
/** Rewrites every relative time under `root`. */
export function refreshTimes(root, now = Date.now()) {
    root.querySelectorAll('time[datetime]').forEach((el) => {
        el.textContent = relativeTime(el.dateTime, now);
    });
}
/** A monospace id that shows its full value on hover. */
export function idEl(id) {
    return h('code', { class: 'id', title: id }, shortId(id));
}
/** A coloured status badge. */
export function statusEl(status) {
    return h('span', { class: `badge status-${status}` }, status.replace('_', ' '));
}
/** JSON for display, cut to `max` characters so that one huge payload cannot stall the page. */
export function jsonText(value, max = 20_000) {
    if (value === undefined || value === null)
        return '—';
    const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    return text.length > max ? `${text.slice(0, max)}\n… (${text.length - max} more characters)` : text;
}
/** One line of text, cut at `max` characters. */
export function clip(text, max = 120) {
    const line = text.replace(/\s+/g, ' ').trim();
    return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
