import { messageOf } from '../client/errors.js';
import { MAX_COMMENT_LENGTH } from '../../../src/contract/limits.js';
import type { Comment, UserId } from '../client/types.js';
import { CharacterCounter } from './character-counter.js';
import { h, svg } from './dom.js';
import { formatTime, hueOf, initials } from './format.js';
import { icons } from './icons.js';

/** Older comments are trimmed from the page so a long session stays light. */
const MAX_SHOWN = 300;

export interface CommentsPanelOptions {
  /** Whose comments get the "Host" badge. */
  hostId: UserId;
  /** Posts a comment; rejects with a user-readable error. */
  post(message: string): Promise<unknown>;
}

/** The live chat column: comments in time order, and a box to write one. */
export class CommentsPanel {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly empty: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly error: HTMLElement;
  private readonly counter = new CharacterCounter(MAX_COMMENT_LENGTH, 'comment-counter');
  private enabled = true;
  private withinLimit = true;
  private posting = false;

  constructor(private readonly options: CommentsPanelOptions) {
    this.list = h('ol', { class: 'comment-list', testid: 'comment-list', 'aria-live': 'polite' });
    this.empty = h('p', { class: 'comment-empty' }, 'No comments yet. Say hello!');
    this.input = h('input', {
      class: 'input',
      testid: 'comment-input',
      type: 'text',
      // No maxlength: it would cut a long paste silently. The counter says what is too long.
      placeholder: 'Write a comment…',
      'aria-label': 'Comment',
      'aria-describedby': 'comment-counter',
      autocomplete: 'off',
      oninput: () => this.renderLength(),
    });
    this.sendButton = h(
      'button',
      { class: 'btn btn-primary btn-icon', testid: 'comment-send', type: 'submit', 'aria-label': 'Send' },
      svg(icons.send, 18),
    );
    this.error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const form = h(
      'form',
      { class: 'comment-form', onsubmit: (event) => void this.submit(event) },
      this.input,
      this.sendButton,
    );
    this.element = h(
      'section',
      { class: 'panel chat' },
      h('header', { class: 'panel-header' }, h('h2', {}, 'Live chat')),
      h('div', { class: 'comment-scroll' }, this.empty, this.list),
      this.error,
      form,
      this.counter.element,
    );
  }

  /** Shows a comment where its timestamp puts it (almost always at the end). */
  add(comment: Comment): void {
    const item = this.render(comment);
    const ts = new Date(comment.ts).getTime();
    let before: Element | null = null;
    for (let node = this.list.lastElementChild; node; node = node.previousElementSibling) {
      if (Number((node as HTMLElement).dataset.ts) <= ts) break;
      before = node;
    }
    const scroller = this.list.parentElement!;
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    this.list.insertBefore(item, before);
    while (this.list.childElementCount > MAX_SHOWN) this.list.firstElementChild?.remove();
    this.empty.hidden = true;
    if (atBottom || before === null) scroller.scrollTop = scroller.scrollHeight;
  }

  /** Closed chat (session ended): the box stays visible but explains why it is off. */
  setEnabled(enabled: boolean, placeholder?: string): void {
    this.enabled = enabled;
    this.input.disabled = !enabled;
    this.renderLength();
    if (placeholder) this.input.placeholder = placeholder;
    this.empty.textContent = enabled ? 'No comments yet. Say hello!' : 'No comments were posted.';
  }

  private render(comment: Comment): HTMLLIElement {
    const isHost = String(comment.user_id) === String(this.options.hostId);
    const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(comment.user_name));
    avatar.style.setProperty('--hue', String(hueOf(comment.user_name)));
    const item = h(
      'li',
      { class: 'comment', 'data-comment-id': comment.id },
      avatar,
      h(
        'div',
        { class: 'comment-body' },
        h(
          'div',
          { class: 'comment-meta' },
          h('span', { class: 'comment-author' }, comment.user_name),
          isHost ? h('span', { class: 'badge badge-host' }, 'Host') : null,
          h('time', { datetime: comment.ts }, formatTime(comment.ts)),
        ),
        // Text node only: HTML in a comment is shown, never parsed.
        h('p', { class: 'comment-text' }, comment.message),
      ),
    );
    item.dataset.ts = String(new Date(comment.ts).getTime());
    return item;
  }

  /** The counter, and a send button that is off while the text is over the limit. */
  private renderLength(): void {
    this.withinLimit = this.counter.update(this.input.value);
    this.input.setAttribute('aria-invalid', String(!this.withinLimit));
    this.sendButton.disabled = !this.enabled || !this.withinLimit || this.posting;
  }

  private async submit(event: Event): Promise<void> {
    event.preventDefault();
    const message = this.input.value.trim();
    // Too long: the counter already says so; posting a shortened text would not be what was typed.
    if (!message || !this.enabled || !this.withinLimit || this.posting) return;
    this.posting = true;
    this.sendButton.disabled = true;
    this.error.hidden = true;
    try {
      await this.options.post(message);
      // Only what was sent is cleared: words typed while it was on its way stay.
      if (this.input.value.trim() === message) this.input.value = '';
    } catch (error) {
      this.error.textContent = messageOf(error);
      this.error.hidden = false;
    } finally {
      this.posting = false;
      this.renderLength();
      if (this.enabled) this.input.focus();
    }
  }
}
