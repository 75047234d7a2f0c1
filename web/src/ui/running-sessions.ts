import { messageOf } from '../client/errors.js';
import type { LiveSession } from '../client/types.js';
import { h, svg } from './dom.js';
import { formatCount, formatDuration, secondsSince } from './format.js';
import { icons } from './icons.js';

export interface RunningSessionsOptions {
  /** Opens the studio for this session here. */
  resume(session: LiveSession): void;
  /** Ends it for everyone; rejects with a user-readable error. */
  end(session: LiveSession): Promise<unknown>;
  /** Every offered session has been ended: the studio can offer to go live again. */
  allEnded(): void;
}

/**
 * "You are live: <title>" for each stream the vendor is already running (from another device or
 * tab), with the two things to do about it: carry on here, or end it.
 */
export function runningSessionsCard(sessions: LiveSession[], options: RunningSessionsOptions): HTMLElement {
  let left = sessions.length;
  const card = h('section', { class: 'card setup running' });

  for (const session of sessions) {
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const resume = h(
      'button',
      { class: 'btn btn-primary', type: 'button', testid: 'resume-live' },
      svg(icons.radio, 16),
      'Resume here',
    );
    const end = h(
      'button',
      { class: 'btn btn-danger', type: 'button', testid: 'end-running' },
      svg(icons.stop, 16),
      'End it',
    );
    const item = h(
      'div',
      { class: 'running-item', testid: 'running-session', 'data-session-id': session.session_id },
      h('h2', {}, h('span', { class: 'live-dot' }), `You are live: ${session.title}`),
      h(
        'p',
        { class: 'muted' },
        `Live for ${formatDuration(secondsSince(session.started_at))} · ` +
          `${formatCount(session.viewer_count)} watching. Resume to send video from here, ` +
          'or end it for everyone.',
      ),
      h('div', { class: 'row' }, resume, end),
      error,
    );
    resume.addEventListener('click', () => options.resume(session));
    end.addEventListener('click', () => {
      resume.disabled = end.disabled = true;
      error.hidden = true;
      options.end(session).then(
        () => {
          item.remove();
          left -= 1;
          if (left === 0) options.allEnded();
        },
        (failure: unknown) => {
          error.textContent = messageOf(failure);
          error.hidden = false;
          resume.disabled = end.disabled = false;
        },
      );
    });
    card.append(item);
  }
  return card;
}
