import { characterCount } from '../../../src/contract/limits.js';
import { h } from './dom.js';

/** Characters as the server counts them for a comment: those of the trimmed text. */
export function countCharacters(text: string): number {
  return characterCount(text.trim());
}

/**
 * "12/1000" under a text box, and a plain sentence once the text is too long. It never shortens
 * the text itself: the writer decides what to cut.
 */
export class CharacterCounter {
  readonly element: HTMLElement;

  constructor(
    private readonly max: number,
    id: string,
  ) {
    this.element = h('p', {
      class: 'char-counter',
      id,
      testid: 'comment-counter',
      'aria-live': 'polite',
      hidden: true,
    });
  }

  /** Shows the count of `text`; returns whether it is within the limit. */
  update(text: string): boolean {
    const count = countCharacters(text);
    const over = count - this.max;
    this.element.hidden = count === 0;
    this.element.classList.toggle('over', over > 0);
    this.element.textContent =
      over > 0
        ? `${count}/${this.max}: ${over} ${over === 1 ? 'character' : 'characters'} over the limit. Shorten it to send.`
        : `${count}/${this.max}`;
    return over <= 0;
  }
}
