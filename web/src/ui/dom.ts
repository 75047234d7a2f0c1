type Child = Node | string | number | null | undefined | false;
type Handler = (event: Event) => void;

/** Attributes by name; `on…` keys take listeners; `testid` sets `data-testid`. */
export type Attrs = Record<string, string | number | boolean | Handler | null | undefined>;

/**
 * Creates an element. Children given as strings become text nodes, never markup, so text from
 * users is shown exactly as typed.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (key === 'testid') element.dataset.testid = String(value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An inline SVG icon from the small set in icons.ts. */
export function svg(paths: string, size = 20): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const icon = document.createElementNS(ns, 'svg');
  icon.setAttribute('viewBox', '0 0 24 24');
  icon.setAttribute('width', String(size));
  icon.setAttribute('height', String(size));
  icon.setAttribute('fill', 'none');
  icon.setAttribute('stroke', 'currentColor');
  icon.setAttribute('stroke-width', '2');
  icon.setAttribute('stroke-linecap', 'round');
  icon.setAttribute('stroke-linejoin', 'round');
  icon.setAttribute('aria-hidden', 'true');
  for (const d of paths.split('|')) {
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d);
    icon.appendChild(path);
  }
  return icon;
}
