import {
  REACTION_KINDS,
  type ReactionCounts,
  type ReactionKind,
  type ReactionTotals,
} from '../../../src/contract/reactions.js';
import { h } from './dom.js';
import { formatCount } from './format.js';
import { REACTION_EMOJI } from './reactions-bar.js';

/** The studio's line of reactions so far, per kind: set on every connect, added to by each event. */
export class ReactionTotalsView {
  readonly element: HTMLElement;
  readonly #values = new Map<ReactionKind, HTMLElement>();
  #totals: ReactionTotals = { heart: 0, laugh: 0, wow: 0, clap: 0, fire: 0 };

  constructor() {
    this.element = h(
      'p',
      { class: 'reaction-totals', testid: 'reaction-totals', 'aria-label': 'Reactions so far' },
      ...REACTION_KINDS.map((kind) => {
        const value = h('strong', { testid: `reaction-total-${kind}` }, '0');
        this.#values.set(kind, value);
        return h('span', { class: 'reaction-total', title: kind }, REACTION_EMOJI[kind], ' ', value);
      }),
    );
  }

  /** The server's totals (a connect or reconnect): what was counted meanwhile is in them. */
  set(totals: ReactionTotals): void {
    this.#totals = { ...totals };
    this.#render();
  }

  add(counts: ReactionCounts): void {
    for (const kind of REACTION_KINDS) this.#totals[kind] += counts[kind] ?? 0;
    this.#render();
  }

  #render(): void {
    for (const kind of REACTION_KINDS) this.#values.get(kind)!.textContent = formatCount(this.#totals[kind]);
  }
}
