import { chatRefusalOf } from '../client/chat-refusal.js';
import { messageOf } from '../client/errors.js';
import type { LiveChannelHandlers } from '../client/live-channel.js';
import { MAX_COMMENT_LENGTH } from '../../../src/contract/limits.js';
import type { Ban, Comment, UserId } from '../client/types.js';
import { CharacterCounter } from './character-counter.js';
import { commentRow, sameUser } from './comment-row.js';
import { h, svg } from './dom.js';
import { formatTime } from './format.js';
import { icons } from './icons.js';

/** Older comments are trimmed from the page so a long session stays light. */
const MAX_SHOWN = 300;

/** The timeout a moderator gives from a comment's menu. */
export const TIMEOUT_SECONDS = 10 * 60;

/** Slow-mode choices offered to the host and moderators (seconds; 0 is off). */
const SLOW_MODE_CHOICES = [0, 5, 10, 30, 60, 120, 300];

/** setTimeout's longest delay; a longer timeout is simply not lifted on this page. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What moderating the chat does, bound to the session by the page. */
export interface CommentActions {
  /** Deletes a comment: one's own, or anyone's for the host and moderators. */
  delete(comment: Comment): Promise<unknown>;
  pin(comment: Comment): Promise<unknown>;
  unpin(): Promise<unknown>;
  /** A timeout of `durationSeconds`, or a ban until lifted without it. */
  ban(comment: Comment, durationSeconds?: number): Promise<Ban>;
  setSlowMode(seconds: number): Promise<unknown>;
  /** The host only (the studio): appoints the comment's author as a moderator. */
  makeModerator?(comment: Comment): Promise<unknown>;
  /** Whether a user moderates this chat, when the page knows (the host does). */
  isModerator?(userId: UserId): boolean;
}

export interface CommentsPanelOptions {
  /** Whose comments get the "Host" badge. */
  hostId: UserId;
  /** The signed-in user: their own comments can be deleted, and the host is never slowed down. */
  selfId: UserId;
  /** Posts a comment; rejects with a user-readable error. */
  post(message: string): Promise<unknown>;
  /** Deleting, pinning, timeouts, bans and slow mode; without it the chat only shows and posts. */
  actions?: CommentActions;
}

interface Shown {
  comment: Comment;
  item: HTMLLIElement;
}

/**
 * The live chat column: the pinned comment, comments in offset order, and a box to write one.
 * The host and moderators get a small menu on each comment (delete, pin, time out, ban) and the
 * slow-mode choice; viewers see the slow-mode rule, how long until they may comment again, and
 * when a timeout ends.
 */
export class CommentsPanel {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly empty: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly error: HTMLElement;
  private readonly note: HTMLElement;
  private readonly pinnedBox: HTMLElement;
  private readonly slowModeSelect: HTMLSelectElement;
  private readonly slowModeControl: HTMLElement;
  private readonly slowModeRule: HTMLElement;
  private readonly waitLine: HTMLElement;
  private readonly counter = new CharacterCounter(MAX_COMMENT_LENGTH, 'comment-counter');
  private readonly shown = new Map<string, Shown>();
  private enabled = true;
  private withinLimit = true;
  private posting = false;
  private canModerate = false;
  private pinned: Comment | null = null;
  private slowModeSeconds = 0;
  /** Slow mode: when this user may comment again (ms since the epoch), or 0. */
  private waitUntil = 0;
  private waitTimer: ReturnType<typeof setInterval> | null = null;
  /** Banned or timed out: undefined when not, null when until lifted, else when it ends. */
  private bannedUntil: Date | null | undefined = undefined;
  private banTimer: ReturnType<typeof setTimeout> | null = null;
  private noteTimer: ReturnType<typeof setTimeout> | null = null;
  private openMenu: { menu: HTMLElement; button: HTMLButtonElement } | null = null;
  private readonly placeholder = 'Write a comment…';

  constructor(private readonly options: CommentsPanelOptions) {
    this.list = h('ol', { class: 'comment-list', testid: 'comment-list', 'aria-live': 'polite' });
    this.empty = h('p', { class: 'comment-empty' }, 'No comments yet. Say hello!');
    this.input = h('input', {
      class: 'input',
      testid: 'comment-input',
      type: 'text',
      // No maxlength: it would cut a long paste silently. The counter says what is too long.
      placeholder: this.placeholder,
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
    this.note = h('p', { class: 'chat-note', role: 'status', testid: 'moderation-note', hidden: true });
    this.pinnedBox = h('div', { class: 'pinned', testid: 'pinned-comment', hidden: true });
    this.slowModeSelect = h(
      'select',
      { class: 'input input-sm', testid: 'slow-mode', id: 'slow-mode' },
      ...SLOW_MODE_CHOICES.map((seconds) => h('option', { value: seconds }, slowModeLabel(seconds))),
    );
    this.slowModeSelect.addEventListener('change', () => void this.changeSlowMode());
    this.slowModeControl = h(
      'label',
      { class: 'slow-mode-control', for: 'slow-mode', hidden: true },
      h('span', {}, 'Slow mode'),
      this.slowModeSelect,
    );
    this.slowModeRule = h('p', { class: 'chat-rule', testid: 'slow-mode-note', hidden: true });
    this.waitLine = h('p', { class: 'chat-wait', testid: 'comment-wait', role: 'status', hidden: true });
    const form = h(
      'form',
      { class: 'comment-form', onsubmit: (event) => void this.submit(event) },
      this.input,
      this.sendButton,
    );
    this.element = h(
      'section',
      { class: 'panel chat' },
      h('header', { class: 'panel-header' }, h('h2', {}, 'Live chat'), this.slowModeControl),
      this.pinnedBox,
      h('div', { class: 'comment-scroll' }, this.empty, this.list),
      this.note,
      this.error,
      this.slowModeRule,
      this.waitLine,
      form,
      this.counter.element,
    );
  }

  /** The live channel's chat events, shown here: comments, deletions, the pin, slow mode, reloads. */
  chatEvents(): Pick<
    LiveChannelHandlers,
    'onComment' | 'onCommentDeleted' | 'onPinned' | 'onSlowMode' | 'onCommentsReloaded'
  > {
    return {
      onComment: (comment) => this.add(comment),
      onCommentDeleted: (id) => this.remove(id),
      onPinned: (comment) => this.setPinned(comment),
      onSlowMode: (seconds) => this.setSlowMode(seconds),
      onCommentsReloaded: (comments, upTo) => this.replaceUpTo(comments, upTo),
    };
  }

  /** Shows a comment where its offset puts it (almost always at the end); once per id. */
  add(comment: Comment): void {
    if (this.shown.has(comment.id)) return;
    const item = this.render(comment);
    let before: Element | null = null;
    for (let node = this.list.lastElementChild; node; node = node.previousElementSibling) {
      if (Number((node as HTMLElement).dataset.offset) <= comment.offset) break;
      before = node;
    }
    const scroller = this.list.parentElement!;
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    this.list.insertBefore(item, before);
    this.shown.set(comment.id, { comment, item });
    while (this.list.childElementCount > MAX_SHOWN) {
      const oldest = this.list.firstElementChild as HTMLElement | null;
      if (!oldest) break;
      this.shown.delete(oldest.dataset.commentId ?? '');
      oldest.remove();
    }
    this.empty.hidden = true;
    if (atBottom || before === null) scroller.scrollTop = scroller.scrollHeight;
  }

  /** A deleted comment vanishes (and its pin, should the unpin event be late). */
  remove(id: string): void {
    const entry = this.shown.get(id);
    if (entry) {
      if (this.openMenu && entry.item.contains(this.openMenu.menu)) this.closeMenu();
      entry.item.remove();
      this.shown.delete(id);
    }
    if (this.pinned?.id === id) this.setPinned(null);
    this.empty.hidden = this.shown.size > 0;
  }

  /**
   * After a gap too long to replay: `comments` are the newest; every one shown up to offset
   * `upTo` that is not among them is gone.
   */
  replaceUpTo(comments: Comment[], upTo: number): void {
    const keep = new Set(comments.map((comment) => comment.id));
    for (const [id, { comment }] of [...this.shown]) {
      if (comment.offset <= upTo && !keep.has(id)) this.remove(id);
    }
    for (const comment of comments) this.add(comment);
  }

  /** The pinned comment above the chat, or none. */
  setPinned(comment: Comment | null): void {
    this.pinned = comment;
    this.renderPinned();
  }

  /** The host or a moderator: menus on comments, the unpin button and the slow-mode choice. */
  setCanModerate(can: boolean): void {
    if (!this.options.actions) return;
    this.canModerate = can;
    this.slowModeControl.hidden = !can;
    for (const { comment, item } of this.shown.values()) this.renderActions(comment, item);
    this.renderPinned();
    this.renderSlowMode();
  }

  /** Slow mode as the server says it is (session_info, chat_settings). */
  setSlowMode(seconds: number): void {
    this.slowModeSeconds = seconds;
    if (seconds === 0) this.stopWaiting();
    this.renderSlowMode();
  }

  /** Closed chat (session ended): the box stays visible but explains why it is off. */
  setEnabled(enabled: boolean, placeholder?: string): void {
    this.enabled = enabled;
    if (!enabled) {
      this.stopWaiting();
      this.clearBan();
      this.slowModeRule.hidden = true;
      this.slowModeSelect.disabled = true;
    }
    this.renderBox();
    if (placeholder) this.input.placeholder = placeholder;
    this.empty.textContent = enabled ? 'No comments yet. Say hello!' : 'No comments were posted.';
  }

  /** Stops the panel's timers (the page is going away). */
  dispose(): void {
    this.stopWaiting();
    this.clearBan();
    this.closeMenu();
    if (this.noteTimer) clearTimeout(this.noteTimer);
  }

  // --- rendering ------------------------------------------------------------------------------

  private render(comment: Comment): HTMLLIElement {
    const time = h('time', { datetime: comment.ts }, formatTime(comment.ts));
    const item = commentRow(comment, { hostId: this.options.hostId, time });
    this.renderActions(comment, item);
    return item;
  }

  /** The "⋯" button of a comment, when there is something this user may do with it. */
  private renderActions(comment: Comment, item: HTMLLIElement): void {
    item.querySelector(':scope > .comment-actions')?.remove();
    if (this.menuItems(comment).length === 0) return;
    const button = h(
      'button',
      {
        class: 'btn btn-ghost btn-icon comment-actions',
        type: 'button',
        testid: 'comment-actions',
        'aria-label': `Actions for ${comment.user_name}’s comment`,
        'aria-haspopup': 'menu',
        'aria-expanded': 'false',
      },
      svg(icons.more, 18),
    );
    button.addEventListener('click', (event) => {
      event.stopPropagation();
      if (this.openMenu?.button === button) this.closeMenu();
      else this.showMenu(comment, item, button);
    });
    item.append(button);
  }

  private menuItems(comment: Comment): { label: string; icon: string; testid: string; run: () => void }[] {
    const actions = this.options.actions;
    if (!actions) return [];
    const own = sameUser(comment.user_id, this.options.selfId);
    const host = sameUser(comment.user_id, this.options.hostId);
    const moderator = actions.isModerator?.(comment.user_id) ?? false;
    const items: { label: string; icon: string; testid: string; run: () => void }[] = [];
    if (this.canModerate) {
      if (this.pinned?.id === comment.id) {
        items.push({ label: 'Unpin', icon: icons.pin, testid: 'comment-unpin', run: () => this.unpin() });
      } else {
        items.push({ label: 'Pin', icon: icons.pin, testid: 'comment-pin', run: () => this.pin(comment) });
      }
    }
    if (this.canModerate || own) {
      items.push({
        label: 'Delete',
        icon: icons.trash,
        testid: 'comment-delete',
        run: () => this.delete(comment),
      });
    }
    // Neither the host nor a moderator can be banned; nor can one ban oneself.
    if (this.canModerate && !own && !host && !moderator) {
      items.push(
        {
          label: 'Time out 10 min',
          icon: icons.clock,
          testid: 'comment-timeout',
          run: () => this.ban(comment, TIMEOUT_SECONDS),
        },
        { label: 'Ban', icon: icons.ban, testid: 'comment-ban', run: () => this.ban(comment) },
      );
    }
    if (actions.makeModerator && !own && !host && !moderator) {
      items.push({
        label: 'Make moderator',
        icon: icons.userPlus,
        testid: 'comment-make-moderator',
        run: () => this.makeModerator(comment),
      });
    }
    return items;
  }

  private showMenu(comment: Comment, item: HTMLLIElement, button: HTMLButtonElement): void {
    this.closeMenu();
    const menu = h('div', { class: 'comment-menu', role: 'menu', testid: 'comment-menu' });
    for (const entry of this.menuItems(comment)) {
      const choice = h(
        'button',
        { class: 'menu-item', type: 'button', role: 'menuitem', testid: entry.testid },
        svg(entry.icon, 16),
        entry.label,
      );
      choice.addEventListener('click', (event) => {
        event.stopPropagation();
        this.closeMenu();
        entry.run();
      });
      menu.append(choice);
    }
    menu.addEventListener('keydown', (event) => {
      const choices = [...menu.querySelectorAll<HTMLButtonElement>('.menu-item')];
      const at = choices.indexOf(document.activeElement as HTMLButtonElement);
      if (event.key === 'Escape') {
        this.closeMenu();
        button.focus();
      } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : -1;
        choices[(at + step + choices.length) % choices.length]?.focus();
      }
    });
    item.append(menu);
    item.classList.add('menu-open');
    button.setAttribute('aria-expanded', 'true');
    this.openMenu = { menu, button };
    document.addEventListener('click', this.closeOnOutsideClick);
    menu.querySelector<HTMLButtonElement>('.menu-item')?.focus();
  }

  private readonly closeOnOutsideClick = (event: MouseEvent): void => {
    if (this.openMenu && !this.openMenu.menu.contains(event.target as Node)) this.closeMenu();
  };

  private closeMenu(): void {
    if (!this.openMenu) return;
    const { menu, button } = this.openMenu;
    menu.parentElement?.classList.remove('menu-open');
    menu.remove();
    button.setAttribute('aria-expanded', 'false');
    this.openMenu = null;
    document.removeEventListener('click', this.closeOnOutsideClick);
  }

  private renderPinned(): void {
    const comment = this.pinned;
    if (!comment) {
      this.pinnedBox.hidden = true;
      this.pinnedBox.replaceChildren();
    } else {
      const unpin = this.canModerate
        ? h(
            'button',
            {
              class: 'btn btn-ghost btn-icon btn-xs',
              type: 'button',
              testid: 'unpin',
              'aria-label': 'Unpin',
              title: 'Unpin',
              onclick: () => this.unpin(),
            },
            svg(icons.x, 16),
          )
        : null;
      this.pinnedBox.replaceChildren(
        svg(icons.pin, 16),
        h(
          'div',
          { class: 'pinned-body' },
          h(
            'div',
            { class: 'comment-meta' },
            h('span', { class: 'pinned-label' }, 'Pinned'),
            h('span', { class: 'comment-author' }, comment.user_name),
          ),
          h('p', { class: 'comment-text', testid: 'pinned-text' }, comment.message),
        ),
        ...(unpin ? [unpin] : []),
      );
      this.pinnedBox.dataset.commentId = comment.id;
      this.pinnedBox.hidden = false;
    }
    // The Pin/Unpin choice of the comment menus follows the pin.
    if (this.canModerate) {
      for (const { comment: shown, item } of this.shown.values()) this.renderActions(shown, item);
    }
  }

  /** Host and moderators are not slowed down; everyone else is. */
  private get exempt(): boolean {
    return this.canModerate || sameUser(this.options.selfId, this.options.hostId);
  }

  private renderSlowMode(): void {
    const seconds = this.slowModeSeconds;
    if (![...this.slowModeSelect.options].some((option) => Number(option.value) === seconds)) {
      this.slowModeSelect.append(h('option', { value: seconds }, slowModeLabel(seconds)));
    }
    this.slowModeSelect.value = String(seconds);
    this.slowModeRule.hidden = seconds === 0 || !this.enabled;
    this.slowModeRule.textContent = this.exempt
      ? `Slow mode: viewers can comment once every ${seconds} s (not you: you moderate this chat)`
      : `Slow mode: one comment every ${seconds} s`;
    this.renderBox();
  }

  /** The input and send button: off while closed, banned, waiting, posting or over the limit. */
  private renderBox(): void {
    const banned = this.bannedUntil !== undefined;
    const waiting = this.waitUntil > Date.now();
    this.input.disabled = !this.enabled || banned;
    this.withinLimit = this.counter.update(this.input.value);
    this.input.setAttribute('aria-invalid', String(!this.withinLimit));
    this.sendButton.disabled = !this.enabled || banned || waiting || !this.withinLimit || this.posting;
    if (this.enabled && !banned) this.input.placeholder = this.placeholder;
  }

  private renderLength(): void {
    this.renderBox();
  }

  private showNote(text: string, failed = false): void {
    if (this.noteTimer) clearTimeout(this.noteTimer);
    this.note.textContent = text;
    this.note.classList.toggle('failed', failed);
    this.note.hidden = false;
    // Errors stay until the next action; confirmations fade after a while.
    this.noteTimer = failed ? null : setTimeout(() => (this.note.hidden = true), 8000);
  }

  // --- waiting: slow mode and bans --------------------------------------------------------------

  private startWaiting(seconds: number): void {
    this.waitUntil = Date.now() + seconds * 1000;
    if (this.waitTimer) clearInterval(this.waitTimer);
    this.waitTimer = setInterval(() => this.tickWait(), 250);
    this.tickWait();
  }

  private tickWait(): void {
    const left = Math.ceil((this.waitUntil - Date.now()) / 1000);
    if (left <= 0) return this.stopWaiting();
    if (this.bannedUntil === undefined) {
      this.waitLine.textContent = `You can comment again in ${left} s`;
      this.waitLine.hidden = false;
    }
    this.renderBox();
  }

  private stopWaiting(): void {
    if (this.waitTimer) clearInterval(this.waitTimer);
    this.waitTimer = null;
    this.waitUntil = 0;
    if (this.bannedUntil === undefined) this.waitLine.hidden = true;
    this.renderBox();
  }

  /** Timed out (until a time) or banned (null): the box is off, and says until when. */
  private setBanned(until: Date | null): void {
    this.stopWaiting();
    this.clearBan();
    if (until && until.getTime() <= Date.now()) return this.renderBox();
    this.bannedUntil = until;
    const text = until
      ? `You can comment again at ${formatTime(until.toISOString())}`
      : 'You are banned from this chat';
    this.waitLine.textContent = until ? `You are timed out. ${text}.` : `${text}. You can keep watching.`;
    this.waitLine.hidden = false;
    this.input.placeholder = text;
    if (until) {
      this.banTimer = setTimeout(
        () => {
          this.clearBan();
          this.renderBox();
        },
        Math.min(MAX_TIMER_MS, until.getTime() - Date.now() + 500),
      );
    }
    this.renderBox();
  }

  private clearBan(): void {
    if (this.banTimer) clearTimeout(this.banTimer);
    this.banTimer = null;
    if (this.bannedUntil !== undefined) this.waitLine.hidden = true;
    this.bannedUntil = undefined;
  }

  // --- actions ----------------------------------------------------------------------------------

  private async submit(event: Event): Promise<void> {
    event.preventDefault();
    const message = this.input.value.trim();
    // Too long: the counter already says so; posting a shortened text would not be what was typed.
    if (!message || this.sendButton.disabled) return;
    this.posting = true;
    this.renderBox();
    this.error.hidden = true;
    try {
      await this.options.post(message);
      // Only what was sent is cleared: words typed while it was on its way stay.
      if (this.input.value.trim() === message) this.input.value = '';
      if (this.slowModeSeconds > 0 && !this.exempt) this.startWaiting(this.slowModeSeconds);
    } catch (error) {
      const refusal = chatRefusalOf(error);
      if (refusal?.kind === 'banned') this.setBanned(refusal.until);
      else if (refusal?.kind === 'wait') this.startWaiting(refusal.seconds);
      else {
        this.error.textContent = messageOf(error);
        this.error.hidden = false;
      }
    } finally {
      this.posting = false;
      this.renderBox();
      if (!this.input.disabled) this.input.focus();
    }
  }

  private act(work: Promise<unknown>, done?: string): void {
    work.then(
      () => done && this.showNote(done),
      (error: unknown) => this.showNote(messageOf(error), true),
    );
  }

  private delete(comment: Comment): void {
    const actions = this.options.actions!;
    // Gone here at once; everyone else hears comment_deleted.
    this.act(actions.delete(comment).then(() => this.remove(comment.id)));
  }

  private pin(comment: Comment): void {
    this.act(this.options.actions!.pin(comment).then(() => this.setPinned(comment)));
  }

  private unpin(): void {
    this.act(this.options.actions!.unpin().then(() => this.setPinned(null)));
  }

  private ban(comment: Comment, durationSeconds?: number): void {
    this.act(
      this.options.actions!.ban(comment, durationSeconds).then((ban) => {
        this.showNote(
          ban.until
            ? `${ban.user_name} is timed out until ${formatTime(ban.until)}.`
            : `${ban.user_name} is banned from this chat until the ban is lifted.`,
        );
      }),
    );
  }

  private makeModerator(comment: Comment): void {
    this.act(
      this.options.actions!.makeModerator!(comment),
      `${comment.user_name} is now a moderator of all your streams.`,
    );
  }

  private async changeSlowMode(): Promise<void> {
    const seconds = Number(this.slowModeSelect.value);
    this.slowModeSelect.disabled = true;
    try {
      await this.options.actions!.setSlowMode(seconds);
      this.setSlowMode(seconds);
    } catch (error) {
      this.showNote(messageOf(error), true);
      this.renderSlowMode(); // back to what the server has
    } finally {
      this.slowModeSelect.disabled = !this.enabled;
    }
  }
}

function slowModeLabel(seconds: number): string {
  if (seconds === 0) return 'Off';
  return seconds >= 60 && seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}
