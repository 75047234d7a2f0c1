import { messageOf } from '../client/errors.js';
import type { LobbyPage } from '../client/api.js';
import type { LiveSession } from '../client/types.js';
import type { AppContext, Page } from '../context.js';
import { h, svg } from '../ui/dom.js';
import { formatCount, formatDuration, hueOf, initials, secondsSince } from '../ui/format.js';
import { icons } from '../ui/icons.js';
import { replaysSection } from '../ui/replays-section.js';
import { sessionPicture } from '../ui/session-picture.js';

const REFRESH_MS = 5000;

/**
 * Live sessions right now, refreshed every few seconds; durations tick locally in between. Below
 * them, the replays of ended sessions.
 */
export function lobbyPage(ctx: AppContext): Page {
  const list = h('ul', { class: 'session-grid', testid: 'session-list' });
  const isVendor = ctx.auth?.user.role === 'vendor';
  const status = h('p', { class: 'muted lobby-status' }, 'Loading live sessions…');
  const empty = h(
    'div',
    { class: 'empty-state', hidden: true },
    h('span', { class: 'brand-mark brand-mark-lg', 'aria-hidden': 'true' }, svg(icons.radio, 28)),
    h('h2', {}, 'Nobody is live right now'),
    h(
      'p',
      { class: 'muted' },
      isVendor
        ? 'Be the first: your viewers will find you here.'
        : 'This page updates by itself. Check back soon!',
    ),
  );
  let sessions: LiveSession[] = [];
  let disposed = false;
  /** The last page and its ETag: each refresh asks "changed since?" and gets 304 when not. */
  let last: LobbyPage | undefined;

  async function refresh(): Promise<void> {
    try {
      const reply = await ctx.api().lobby(50, last);
      if (disposed) return;
      if (reply !== last) {
        last = reply;
        sessions = reply.items;
        render();
      }
      status.textContent = '';
      status.classList.remove('form-error');
      empty.hidden = sessions.length > 0;
    } catch (failure) {
      if (disposed) return;
      status.textContent = `${messageOf(failure)} Retrying…`;
      status.classList.add('form-error');
    }
  }

  function render(): void {
    list.replaceChildren(...sessions.map(card));
  }

  function card(session: LiveSession): HTMLLIElement {
    const avatar = h(
      'span',
      { class: 'avatar avatar-lg', 'aria-hidden': 'true' },
      initials(session.vendor.name),
    );
    const mine = String(session.vendor.id) === String(ctx.auth?.user.id);
    const thumb = h(
      'div',
      { class: 'session-thumb' },
      avatar,
      sessionPicture(ctx.api().thumbnailUrl(session)),
      h('span', { class: 'live-badge' }, 'LIVE'),
      h(
        'span',
        { class: 'thumb-count' },
        svg(icons.users, 14),
        h('span', { testid: 'session-viewers' }, formatCount(session.viewer_count)),
      ),
    );
    const hue = String(hueOf(session.vendor.name));
    thumb.style.setProperty('--hue', hue);
    avatar.style.setProperty('--hue', hue);
    const duration = h(
      'span',
      { 'data-started': session.started_at },
      formatDuration(secondsSince(session.started_at)),
    );
    return h(
      'li',
      {},
      h(
        'a',
        {
          class: 'session-card',
          // The vendor's own stream opens in the studio, where it is controlled.
          href: `#/${mine ? 'studio' : 'watch'}/${encodeURIComponent(session.session_id)}`,
          testid: 'session-card',
          'data-session-id': session.session_id,
        },
        thumb,
        h(
          'div',
          { class: 'session-info' },
          h('h3', { class: 'session-title' }, session.title),
          h(
            'p',
            { class: 'muted' },
            session.vendor.name,
            mine ? h('span', { class: 'badge badge-host' }, 'You') : null,
          ),
          h(
            'p',
            { class: 'session-meta' },
            h('span', {}, svg(icons.users, 14), `${formatCount(session.viewer_count)} watching`),
            h('span', {}, svg(icons.clock, 14), duration),
          ),
        ),
      ),
    );
  }

  // A hidden tab does not poll; it catches up as soon as it is shown again.
  const refreshTimer = setInterval(() => {
    if (!document.hidden) void refresh();
  }, REFRESH_MS);
  const onVisible = () => {
    if (!document.hidden) void refresh();
  };
  document.addEventListener('visibilitychange', onVisible);
  const tickTimer = setInterval(() => {
    for (const node of list.querySelectorAll<HTMLElement>('[data-started]')) {
      node.textContent = formatDuration(secondsSince(node.dataset.started!));
    }
  }, 1000);
  void refresh();
  const replays = replaysSection(ctx.api());

  const element = h(
    'main',
    { class: 'page' },
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        {},
        h('h1', {}, 'Live now'),
        h('p', { class: 'muted' }, 'Pick a stream to watch and join the chat.'),
      ),
      isVendor
        ? h('a', { class: 'btn btn-primary', href: '#/studio' }, svg(icons.radio, 18), 'Go live')
        : null,
    ),
    status,
    empty,
    list,
    replays.element,
  );
  return {
    element,
    title: 'Live now',
    dispose() {
      disposed = true;
      clearInterval(refreshTimer);
      document.removeEventListener('visibilitychange', onVisible);
      clearInterval(tickTimer);
      replays.dispose();
    },
  };
}
