import type { ApiClient } from '../client/api.js';
import { messageOf } from '../client/errors.js';
import type { ReplayPage } from '../client/types.js';
import { h, svg } from './dom.js';
import { formatDuration, formatTime, hueOf, initials } from './format.js';
import { icons } from './icons.js';
import { sessionPicture } from './session-picture.js';

const PAGE_SIZE = 20;

type ReplayItem = ReplayPage['items'][number];

/**
 * The lobby's "Replays": ended sessions whose replay is ready, newest first, each opening its
 * watch page (where the video and its chat play back). Hidden while there are none, which is
 * also what a server without replays shows. "More" reads the next page.
 */
export function replaysSection(api: ApiClient): { element: HTMLElement; dispose(): void } {
  const list = h('ul', { class: 'session-grid replay-grid' });
  const status = h('p', { class: 'muted lobby-status', role: 'status' });
  const more = h(
    'button',
    { class: 'btn btn-control replays-more', type: 'button', testid: 'replays-more', hidden: true },
    'More replays',
  );
  const element = h(
    'section',
    { class: 'replays', testid: 'replays', hidden: true, 'aria-labelledby': 'replays-heading' },
    h('div', { class: 'page-head' }, h('h2', { id: 'replays-heading' }, 'Replays')),
    list,
    status,
    more,
  );
  let cursor: string | null = null;
  let disposed = false;
  /** Session ids shown, so a replay that moved between pages is not listed twice. */
  const shown = new Set<string>();

  async function load(): Promise<void> {
    more.disabled = true;
    try {
      const page = await api.replays(PAGE_SIZE, cursor);
      if (disposed) return;
      const fresh = page.items.filter((item) => !shown.has(item.session.session_id));
      fresh.forEach((item) => shown.add(item.session.session_id));
      list.append(...fresh.map((item) => card(item, api)));
      cursor = page.next_cursor;
      status.textContent = '';
      status.classList.remove('form-error');
      more.hidden = cursor === null;
      element.hidden = shown.size === 0;
    } catch (failure) {
      if (disposed) return;
      // Only worth saying once there is a list to page; a first read that fails keeps it hidden.
      status.textContent = shown.size > 0 ? messageOf(failure) : '';
      status.classList.add('form-error');
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => void load());
  void load();

  return {
    element,
    dispose() {
      disposed = true;
    },
  };
}

function card({ session, replay }: ReplayItem, api: ApiClient): HTMLLIElement {
  const avatar = h(
    'span',
    { class: 'avatar avatar-lg', 'aria-hidden': 'true' },
    initials(session.vendor.name),
  );
  const seconds = replay.duration_seconds ?? session.live_duration_seconds;
  const thumb = h(
    'div',
    { class: 'session-thumb' },
    avatar,
    sessionPicture(api.thumbnailUrl(session)),
    h('span', { class: 'replay-badge' }, 'REPLAY'),
    h('span', { class: 'thumb-count', testid: 'replay-duration' }, formatDuration(seconds)),
  );
  const hue = String(hueOf(session.vendor.name));
  thumb.style.setProperty('--hue', hue);
  avatar.style.setProperty('--hue', hue);
  const when = session.ended_at ?? session.started_at;
  return h(
    'li',
    {},
    h(
      'a',
      {
        class: 'session-card',
        href: `#/watch/${encodeURIComponent(session.session_id)}`,
        testid: 'replay-item',
        'data-session-id': session.session_id,
      },
      thumb,
      h(
        'div',
        { class: 'session-info' },
        h('h3', { class: 'session-title' }, session.title),
        h('p', { class: 'muted' }, session.vendor.name),
        h(
          'p',
          { class: 'session-meta' },
          h('span', {}, svg(icons.clock, 14), formatDuration(seconds)),
          h('time', { datetime: when }, formatTime(when)),
        ),
      ),
    ),
  );
}
