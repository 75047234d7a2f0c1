import type { ApiClient } from '../client/api.js';
import { ApiError, messageOf } from '../client/errors.js';
import type { Ban, Moderator, UserId } from '../client/types.js';
import { h, svg } from './dom.js';
import { formatTime } from './format.js';
import { icons } from './icons.js';

const BANS_REFRESH_MS = 15_000;

/**
 * The studio's "Chat moderation" card, the vendor's own rules for all of their streams: blocked
 * terms (`PUT /me/blocked-terms`), moderators (`/me/moderators`: there is no user search, so a
 * moderator is added by user id, or from one of their comments), and, once a session is open,
 * the timeouts and bans in force with a way to lift each.
 */
export class ChatRulesCard {
  readonly element: HTMLElement;
  private readonly terms: HTMLTextAreaElement;
  private readonly termsSave: HTMLButtonElement;
  private readonly termsStatus: HTMLElement;
  private readonly moderatorList: HTMLUListElement;
  private readonly moderatorId: HTMLInputElement;
  private readonly moderatorAdd: HTMLButtonElement;
  private readonly moderatorsStatus: HTMLElement;
  private readonly bansSection: HTMLElement;
  private readonly banList: HTMLUListElement;
  private readonly bansStatus: HTMLElement;
  private moderators: Moderator[] = [];
  private sessionId: string | null = null;
  /** Moderators ban from their own pages and no event says so: the list is re-read now and then. */
  private bansTimer: ReturnType<typeof setInterval> | null = null;
  private disposed = false;

  constructor(private readonly api: ApiClient) {
    this.terms = h('textarea', {
      class: 'input textarea',
      id: 'blocked-terms',
      testid: 'blocked-terms',
      rows: 4,
      placeholder: 'One word or phrase per line',
      spellcheck: false,
    });
    this.termsSave = h(
      'button',
      { class: 'btn btn-control', type: 'submit', testid: 'blocked-terms-save' },
      'Save terms',
    );
    this.termsStatus = h('p', { class: 'hint', role: 'status', testid: 'blocked-terms-status' });
    const termsForm = h(
      'form',
      { class: 'rules-block', onsubmit: (event) => void this.saveTerms(event) },
      h('label', { class: 'rules-title', for: 'blocked-terms' }, 'Blocked terms'),
      h(
        'p',
        { class: 'hint' },
        'Comments containing one of these as whole words are refused, whatever their case, accents or width.',
      ),
      this.terms,
      h('div', { class: 'row' }, this.termsSave, this.termsStatus),
    );

    this.moderatorList = h('ul', { class: 'rules-list', testid: 'moderator-list' });
    this.moderatorId = h('input', {
      class: 'input input-sm',
      id: 'moderator-id',
      testid: 'moderator-id',
      type: 'text',
      placeholder: 'Paste the user id',
      autocomplete: 'off',
      spellcheck: false,
    });
    this.moderatorAdd = h(
      'button',
      { class: 'btn btn-control btn-sm', type: 'submit', testid: 'moderator-add' },
      svg(icons.userPlus, 16),
      'Add',
    );
    this.moderatorsStatus = h('p', { class: 'hint', role: 'status', testid: 'moderators-status' });
    const moderatorsForm = h(
      'form',
      { class: 'rules-block', onsubmit: (event) => void this.addFromInput(event) },
      h('label', { class: 'rules-title', for: 'moderator-id' }, 'Moderators'),
      h(
        'p',
        { class: 'hint' },
        'They can delete, pin, time out and ban in all your streams, and set slow mode. There is no ' +
          'user search: paste the user id, or choose “Make moderator” on one of their comments.',
      ),
      this.moderatorList,
      h('div', { class: 'row' }, this.moderatorId, this.moderatorAdd),
      this.moderatorsStatus,
    );

    this.banList = h('ul', { class: 'rules-list', testid: 'ban-list' });
    this.bansStatus = h('p', { class: 'hint', role: 'status' });
    const refresh = h(
      'button',
      { class: 'btn btn-ghost btn-sm', type: 'button', testid: 'bans-refresh' },
      'Refresh',
    );
    refresh.addEventListener('click', () => void this.reloadBans());
    this.bansSection = h(
      'div',
      { class: 'rules-block', hidden: true },
      h('div', { class: 'row' }, h('h3', { class: 'rules-title spacer' }, 'Timeouts and bans'), refresh),
      h('p', { class: 'hint' }, 'They hold in all your streams. Banned viewers can still watch.'),
      this.banList,
      this.bansStatus,
    );

    this.element = h(
      'section',
      { class: 'card chat-rules', testid: 'chat-rules' },
      h('h2', {}, svg(icons.shield, 18), 'Chat moderation'),
      termsForm,
      moderatorsForm,
      this.bansSection,
    );
  }

  /** Loads the blocked terms and moderators. */
  async load(): Promise<void> {
    try {
      const terms = await this.api.blockedTerms();
      if (this.disposed) return;
      this.terms.value = terms.join('\n');
      this.termsStatus.textContent = countOf(terms.length, 'term');
    } catch (error) {
      this.termsStatus.textContent = messageOf(error);
    }
    await this.reloadModerators();
  }

  /** The session whose bans to show (bans hold across the vendor's sessions; the route names one). */
  setSession(sessionId: string | null): void {
    this.sessionId = sessionId;
    this.bansSection.hidden = sessionId === null;
    if (this.bansTimer) clearInterval(this.bansTimer);
    this.bansTimer = null;
    if (sessionId) {
      void this.reloadBans();
      this.bansTimer = setInterval(() => void this.reloadBans(), BANS_REFRESH_MS);
    }
  }

  isModerator(userId: UserId): boolean {
    return this.moderators.some((moderator) => String(moderator.user_id) === String(userId));
  }

  /** Appoints a moderator (also from a comment's menu) and shows the new list. */
  async addModerator(userId: UserId): Promise<void> {
    await this.api.addModerator(userId);
    await this.reloadModerators();
  }

  async reloadBans(): Promise<void> {
    const sessionId = this.sessionId;
    if (!sessionId) return;
    try {
      const bans = await this.api.bans(sessionId);
      if (this.disposed || sessionId !== this.sessionId) return;
      this.renderBans(bans);
      this.bansStatus.textContent = '';
    } catch (error) {
      this.bansStatus.textContent = messageOf(error);
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.bansTimer) clearInterval(this.bansTimer);
  }

  private async saveTerms(event: Event): Promise<void> {
    event.preventDefault();
    const terms = this.terms.value
      .split('\n')
      .map((term) => term.trim())
      .filter(Boolean);
    this.termsSave.disabled = true;
    this.termsStatus.textContent = 'Saving…';
    try {
      const saved = await this.api.setBlockedTerms(terms);
      this.terms.value = saved.join('\n');
      this.termsStatus.textContent = `Saved: ${countOf(saved.length, 'term')}`;
    } catch (error) {
      this.termsStatus.textContent = messageOf(error);
    } finally {
      this.termsSave.disabled = false;
    }
  }

  private async addFromInput(event: Event): Promise<void> {
    event.preventDefault();
    const id = this.moderatorId.value.trim();
    if (!id) return;
    this.moderatorAdd.disabled = true;
    this.moderatorsStatus.textContent = '';
    try {
      await this.addModerator(id);
      this.moderatorId.value = '';
    } catch (error) {
      this.moderatorsStatus.textContent =
        error instanceof ApiError && error.status === 404 ? 'No user has that id.' : messageOf(error);
    } finally {
      this.moderatorAdd.disabled = false;
    }
  }

  private async reloadModerators(): Promise<void> {
    try {
      const moderators = await this.api.moderators();
      if (this.disposed) return;
      this.moderators = moderators;
      this.renderModerators();
    } catch (error) {
      this.moderatorsStatus.textContent = messageOf(error);
    }
  }

  private renderModerators(): void {
    if (this.moderators.length === 0) {
      this.moderatorList.replaceChildren(h('li', { class: 'rules-empty' }, 'No moderators yet.'));
      return;
    }
    this.moderatorList.replaceChildren(
      ...this.moderators.map((moderator) => {
        const remove = h(
          'button',
          {
            class: 'btn btn-ghost btn-sm',
            type: 'button',
            testid: 'moderator-remove',
            'aria-label': `Remove ${moderator.name} as moderator`,
          },
          'Remove',
        );
        remove.addEventListener('click', () => {
          remove.disabled = true;
          this.api.removeModerator(moderator.user_id).then(
            () => this.reloadModerators(),
            (error: unknown) => {
              this.moderatorsStatus.textContent = messageOf(error);
              remove.disabled = false;
            },
          );
        });
        return h(
          'li',
          { class: 'rules-item', testid: 'moderator', 'data-user-id': String(moderator.user_id) },
          h('span', { class: 'rules-name' }, moderator.name),
          remove,
        );
      }),
    );
  }

  private renderBans(bans: Ban[]): void {
    if (bans.length === 0) {
      this.banList.replaceChildren(h('li', { class: 'rules-empty' }, 'Nobody is timed out or banned.'));
      return;
    }
    this.banList.replaceChildren(
      ...bans.map((ban) => {
        const lift = h(
          'button',
          {
            class: 'btn btn-ghost btn-sm',
            type: 'button',
            testid: 'ban-lift',
            'aria-label': `Lift ${ban.user_name}’s ban`,
          },
          'Lift',
        );
        lift.addEventListener('click', () => {
          const sessionId = this.sessionId;
          if (!sessionId) return;
          lift.disabled = true;
          this.api.liftBan(sessionId, ban.user_id).then(
            () => this.reloadBans(),
            (error: unknown) => {
              this.bansStatus.textContent = messageOf(error);
              lift.disabled = false;
            },
          );
        });
        return h(
          'li',
          { class: 'rules-item', testid: 'ban', 'data-user-id': String(ban.user_id) },
          h('span', { class: 'rules-name' }, ban.user_name),
          h('span', { class: 'hint' }, ban.until ? `until ${formatTime(ban.until)}` : 'until lifted'),
          lift,
        );
      }),
    );
  }
}

function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
