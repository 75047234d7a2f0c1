import type { Comment, UserId } from '../client/types.js';
import { h, type Attrs } from './dom.js';
import { hueOf, initials } from './format.js';

/** Whether two user ids name the same user (ids arrive as numbers or strings). */
export function sameUser(a: UserId, b: UserId): boolean {
  return String(a) === String(b);
}

/**
 * One comment as a chat row: its author's avatar, name and Host badge, a time, and the text.
 * The live chat and a replay's chat show comments alike; each gives the time it shows (the
 * clock time live, the point in the replay afterwards) and its own attributes.
 */
export function commentRow(
  comment: Comment,
  { hostId, time, attrs = {} }: { hostId: UserId; time: HTMLElement; attrs?: Attrs },
): HTMLLIElement {
  const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(comment.user_name));
  avatar.style.setProperty('--hue', String(hueOf(comment.user_name)));
  return h(
    'li',
    { class: 'comment', 'data-comment-id': comment.id, 'data-offset': comment.offset, ...attrs },
    avatar,
    h(
      'div',
      { class: 'comment-body' },
      h(
        'div',
        { class: 'comment-meta' },
        h('span', { class: 'comment-author' }, comment.user_name),
        sameUser(comment.user_id, hostId) ? h('span', { class: 'badge badge-host' }, 'Host') : null,
        time,
      ),
      // Text node only: HTML in a comment is shown, never parsed.
      h('p', { class: 'comment-text' }, comment.message),
    ),
  );
}
