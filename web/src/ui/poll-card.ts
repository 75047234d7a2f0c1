import {
  POLL_MAX_OPTIONS,
  POLL_MIN_OPTIONS,
  POLL_OPTION_MAX,
  POLL_QUESTION_MAX,
} from '../../../src/contract/polls.js';
import type { ApiClient } from '../client/api.js';
import { messageOf } from '../client/errors.js';
import type { Poll } from '../client/types.js';
import { h } from './dom.js';
import { formatCount, formatDuration } from './format.js';

/** The durations the studio offers, in seconds. */
const DURATIONS = [30, 60, 120, 300, 600];

/**
 * A session's poll as a card: the question, each option with its share of the votes, and how
 * long it stays open. Viewers vote by choosing an option (choosing another replaces the vote);
 * the host (`host: true`) writes a poll, opens it and may end it early, then sees the results
 * with a way to ask the next one. The card shows what the socket says (`show`); a vote or an
 * opening is answered over REST, and the tallies follow on the socket.
 */
export class PollCard {
  readonly element: HTMLElement = h('section', {
    class: 'card poll-card',
    testid: 'poll-card',
    hidden: true,
  });
  #poll: Poll | null = null;
  /** This page's vote per poll: the server keeps one per user but never says which. */
  readonly #votes = new Map<string, number>();
  #status = h('p', { class: 'hint', role: 'status', testid: 'poll-status' });
  readonly #clock: ReturnType<typeof setInterval>;

  constructor(
    private readonly api: ApiClient,
    private readonly sessionId: string,
    private readonly host: boolean,
  ) {
    this.#clock = setInterval(() => this.#tick(), 1000);
    if (host) this.#compose();
  }

  /** The latest state of a poll, or null when none is open (a closed poll's results stay shown). */
  show(poll: Poll | null): void {
    if (!poll) {
      if (this.#poll?.status === 'open') this.#clear();
      return;
    }
    // A tally of a poll already shown closed is stale.
    if (this.#poll?.id === poll.id && this.#poll.status === 'closed' && poll.status === 'open') return;
    this.#poll = poll;
    this.#render();
  }

  dispose(): void {
    clearInterval(this.#clock);
  }

  #clear(): void {
    this.#poll = null;
    if (this.host) this.#compose();
    else this.element.hidden = true;
  }

  #render(): void {
    const poll = this.#poll!;
    const open = poll.status === 'open';
    const chosen = this.#votes.get(poll.id);
    const options = h(
      'ol',
      { class: 'poll-options' },
      ...poll.options.map((option, index) => this.#option(poll, index, chosen === index, open)),
    );
    this.#status = h('p', { class: 'hint', role: 'status', testid: 'poll-status' });
    const footer = h(
      'p',
      { class: 'muted poll-meta' },
      h(
        'span',
        { testid: 'poll-total' },
        `${formatCount(poll.total_votes)} ${poll.total_votes === 1 ? 'vote' : 'votes'}`,
      ),
      ' · ',
      h(
        'span',
        { class: 'poll-remaining', testid: 'poll-state', 'data-status': poll.status },
        this.#remaining(),
      ),
    );
    this.element.replaceChildren(
      h('h2', { class: 'card-title' }, open ? 'Poll' : 'Poll results'),
      h('p', { class: 'poll-question', testid: 'poll-question' }, poll.question),
      options,
      footer,
      ...this.#hostActions(open),
      this.#status,
    );
    this.element.hidden = false;
  }

  /** The host's button: end the open poll, or ask the next one. */
  #hostActions(open: boolean): HTMLElement[] {
    if (!this.host) return [];
    return open
      ? [
          h(
            'button',
            { class: 'btn btn-control', type: 'button', testid: 'poll-end', onclick: () => void this.#end() },
            'End poll',
          ),
        ]
      : [
          h(
            'button',
            { class: 'btn btn-primary', type: 'button', testid: 'poll-new', onclick: () => this.#compose() },
            'New poll',
          ),
        ];
  }

  /** One option: a button while the poll is open (viewers), a bar of its share in any case. */
  #option(poll: Poll, index: number, chosen: boolean, open: boolean): HTMLElement {
    const { text, votes } = poll.options[index]!;
    const share = poll.total_votes > 0 ? Math.round((votes / poll.total_votes) * 100) : 0;
    const label = [
      h('span', { class: 'poll-option-text' }, text),
      h(
        'span',
        { class: 'poll-option-votes', testid: `poll-votes-${index}` },
        `${share}% · ${formatCount(votes)}`,
      ),
    ];
    // Through the CSSOM: the CSP refuses style attributes.
    const bar = h('span', { class: 'poll-bar' });
    bar.style.width = `${share}%`;
    const body =
      open && !this.host
        ? h(
            'button',
            {
              class: 'poll-option-button',
              type: 'button',
              testid: `poll-option-${index}`,
              'aria-pressed': chosen ? 'true' : 'false',
              onclick: () => void this.#vote(poll.id, index),
            },
            bar,
            ...label,
          )
        : h('div', { class: 'poll-option-result' }, bar, ...label);
    return h('li', { class: chosen ? 'poll-option chosen' : 'poll-option' }, body);
  }

  #remaining(): string {
    const poll = this.#poll;
    if (!poll) return '';
    if (poll.status === 'closed') return 'Closed';
    const seconds = Math.max(0, Math.ceil((Date.parse(poll.ends_at) - Date.now()) / 1000));
    return `Closes in ${formatDuration(seconds)}`;
  }

  #tick(): void {
    const remaining = this.element.querySelector<HTMLElement>('.poll-remaining');
    if (remaining && this.#poll) remaining.textContent = this.#remaining();
  }

  async #vote(pollId: string, option: number): Promise<void> {
    try {
      await this.api.vote(this.sessionId, pollId, option);
      this.#votes.set(pollId, option);
      if (this.#poll?.id === pollId) this.#render();
      this.#status.textContent = 'Vote counted';
    } catch (failure) {
      this.#status.textContent = messageOf(failure);
    }
  }

  async #end(): Promise<void> {
    const poll = this.#poll;
    if (!poll) return;
    try {
      this.show(await this.api.closePoll(this.sessionId, poll.id));
    } catch (failure) {
      this.#status.textContent = messageOf(failure);
    }
  }

  /** The host's form for the next poll. */
  #compose(): void {
    this.#poll = null;
    const question = h('input', {
      class: 'input',
      id: 'poll-question',
      testid: 'poll-question-input',
      maxlength: POLL_QUESTION_MAX,
      required: true,
      placeholder: 'Ask your viewers…',
    });
    const list = h('div', { class: 'poll-compose-options' });
    const addOption = () => {
      const index = list.children.length;
      list.append(
        h('input', {
          class: 'input',
          testid: `poll-option-input-${index}`,
          maxlength: POLL_OPTION_MAX,
          required: index < POLL_MIN_OPTIONS,
          placeholder: `Option ${index + 1}`,
          'aria-label': `Option ${index + 1}`,
        }),
      );
      more.hidden = list.children.length >= POLL_MAX_OPTIONS;
    };
    const more = h(
      'button',
      { class: 'btn btn-control', type: 'button', testid: 'poll-add-option', onclick: addOption },
      'Add option',
    );
    for (let i = 0; i < POLL_MIN_OPTIONS; i++) addOption();
    const duration = h(
      'select',
      { class: 'input', testid: 'poll-duration', 'aria-label': 'Open for' },
      ...DURATIONS.map((s) => h('option', { value: s, selected: s === 60 }, `Open for ${formatDuration(s)}`)),
    );
    this.#status = h('p', { class: 'hint', role: 'status', testid: 'poll-status' });
    const form = h(
      'form',
      {
        class: 'poll-compose',
        onsubmit: (event: Event) => {
          event.preventDefault();
          void this.#open(question.value, list, Number(duration.value));
        },
      },
      h('label', { class: 'rules-title', for: 'poll-question' }, 'Ask a poll'),
      question,
      list,
      h('div', { class: 'row' }, more, duration),
      h('button', { class: 'btn btn-primary', type: 'submit', testid: 'poll-open' }, 'Start poll'),
      this.#status,
    );
    this.element.replaceChildren(form);
    this.element.hidden = false;
  }

  async #open(question: string, list: HTMLElement, durationSeconds: number): Promise<void> {
    const options = [...list.querySelectorAll('input')].map((input) => input.value.trim()).filter(Boolean);
    try {
      this.show(
        await this.api.openPoll(this.sessionId, { question, options, duration_seconds: durationSeconds }),
      );
    } catch (failure) {
      this.#status.textContent = messageOf(failure);
    }
  }
}
