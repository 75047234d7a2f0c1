import {
  REACTION_KINDS,
  REACTIONS_PER_USER_PER_SECOND,
  type ReactionCounts,
  type ReactionKind,
} from '../../../src/contract/reactions.js';
import { h } from './dom.js';

/** What each kind looks like. */
export const REACTION_EMOJI: Record<ReactionKind, string> = {
  heart: '❤️',
  laugh: '😂',
  wow: '😮',
  clap: '👏',
  fire: '🔥',
};

/** Floaters drawn per `reactions` event at most: a room of thousands stays smooth. */
const MAX_FLOATERS = 16;
/** A floater's life: its rise in styles.css (removed even where reduced motion skips the animation). */
const FLOAT_MS = 2000;

/**
 * The watch page's reaction buttons and the layer over the video where reactions float up. A
 * tap is sent at once and floats at once for the one who tapped; everyone's taps float as the
 * server's `reactions` events say, a sample of at most MAX_FLOATERS per event, spread over its
 * window. Taps past the server's budget (10 a second) are not sent at all.
 */
export class ReactionsBar {
  readonly element: HTMLElement;
  /** Goes inside the stage (position: relative); floaters rise through it. */
  readonly layer: HTMLElement = h('div', { class: 'reactions-layer', 'aria-hidden': 'true' });
  readonly #taps: number[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly send: (kind: ReactionKind) => void) {
    this.element = h(
      'div',
      { class: 'reactions-bar', role: 'group', 'aria-label': 'React' },
      ...REACTION_KINDS.map((kind) =>
        h(
          'button',
          {
            class: 'btn btn-control reaction-button',
            type: 'button',
            testid: `react-${kind}`,
            'aria-label': kind,
            onclick: () => this.#tap(kind),
          },
          REACTION_EMOJI[kind],
        ),
      ),
    );
  }

  /** Everyone's reactions of one window: float a sample of them over `windowMs`. */
  show(counts: ReactionCounts, windowMs: number): void {
    const kinds = REACTION_KINDS.flatMap((kind) => Array<ReactionKind>(counts[kind] ?? 0).fill(kind));
    const step = Math.max(1, Math.ceil(kinds.length / MAX_FLOATERS));
    const sample = kinds.filter((_, i) => i % step === 0);
    const spread = Math.min(windowMs, 1000) / Math.max(1, sample.length);
    sample.forEach((kind, i) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#float(kind);
      }, i * spread);
      this.#timers.add(timer);
    });
  }

  dispose(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.layer.replaceChildren();
  }

  #tap(kind: ReactionKind): void {
    const now = performance.now();
    while (this.#taps.length && now - this.#taps[0]! >= 1000) this.#taps.shift();
    if (this.#taps.length >= REACTIONS_PER_USER_PER_SECOND) return;
    this.#taps.push(now);
    this.send(kind);
    this.#float(kind);
  }

  #float(kind: ReactionKind): void {
    const floater = h('span', { class: 'reaction-floater', 'data-kind': kind }, REACTION_EMOJI[kind]);
    // Through the CSSOM, which the page's CSP allows (a style attribute it would not).
    floater.style.left = `${10 + Math.random() * 80}%`;
    this.layer.append(floater);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      floater.remove();
    }, FLOAT_MS);
    this.#timers.add(timer);
  }
}
