/**
 * The one way the dashboard builds DOM. Children that are strings become text nodes, so nothing a user or an
 * agent wrote is ever parsed as HTML; there is no `innerHTML` anywhere in the dashboard (a test checks).
 */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  title?: string;
  /** Set as `data-*` attributes. */
  data?: Record<string, string>;
  /** Other attributes, set with `setAttribute` (never `on*` handlers). */
  attrs?: Record<string, string>;
  onClick?: (event: Event) => void;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.title) el.title = props.title;
  for (const [key, value] of Object.entries(props.data ?? {})) el.dataset[key] = value;
  for (const [key, value] of Object.entries(props.attrs ?? {})) {
    if (/^on/i.test(key)) throw new Error(`refusing to set the handler attribute ${key}`);
    el.setAttribute(key, value);
  }
  if (props.onClick) el.addEventListener('click', props.onClick);
  append(el, children);
  return el;
}

export function append(parent: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}
