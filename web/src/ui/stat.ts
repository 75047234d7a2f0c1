import { h, svg } from './dom.js';

/** A labelled number with an icon, e.g. "2 watching". `value` is the element tests read. */
export function stat(
  icon: string,
  label: string,
  testid?: string,
): { element: HTMLElement; value: HTMLElement } {
  const value = h('strong', { class: 'stat-value', testid }, '0');
  const element = h(
    'div',
    { class: 'stat' },
    svg(icon, 18),
    h('div', { class: 'stat-text' }, value, h('span', { class: 'stat-label' }, label)),
  );
  return { element, value };
}
