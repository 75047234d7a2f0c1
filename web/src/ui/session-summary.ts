import type { LiveSession, SessionStats } from '../../../src/contract/rest.js';
import { h } from './dom.js';
import { formatCount, formatDuration } from './format.js';

/** An ended session's stats at a glance: peak viewers, unique viewers, comments, time live. */
export function sessionSummary(stats: SessionStats): HTMLElement {
  const item = (value: string, label: string, testid: string) =>
    h('div', { class: 'summary-item' }, h('strong', { testid }, value), h('span', {}, label));
  return h(
    'div',
    { class: 'session-summary', testid: 'session-summary' },
    item(stats.peak_viewers === null ? '–' : formatCount(stats.peak_viewers), 'peak viewers', 'summary-peak'),
    item(formatCount(stats.unique_views), 'unique viewers', 'summary-views'),
    item(formatCount(stats.comments), 'comments', 'summary-comments'),
    item(formatDuration(stats.duration_seconds), 'live', 'summary-duration'),
  );
}

/**
 * Reads the ended session (its stats are written with the end) and shows the summary in `into`,
 * before its last child. Shows nothing if the read fails: the end itself already showed.
 */
export async function showSessionSummary(
  api: { session(id: string): Promise<LiveSession> },
  sessionId: string,
  into: HTMLElement,
): Promise<void> {
  try {
    const ended = await api.session(sessionId);
    if (ended.stats) into.insertBefore(sessionSummary(ended.stats), into.lastElementChild);
  } catch {
    // The summary is a courtesy; the page already says the stream ended.
  }
}
