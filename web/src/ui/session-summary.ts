import type { LiveSession, SessionStats } from '../../../src/contract/rest.js';
import type { Replay } from '../client/types.js';
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

/** How often the studio asks again while an ended session's replay is being prepared. */
const REPLAY_POLL_MS = 3000;

/**
 * After the end, the replay: "The replay is processing…" while it is made, then a "Watch the
 * replay" link to its watch page, or why it failed. Nothing at all when the session has no
 * replay (not recorded, mesh mode, or a server without replays): there is nothing to say.
 * The line goes into `into`, before its last child; `stop()` ends the polling (the page left).
 */
export function followReplay(
  api: { replay(id: string): Promise<Replay> },
  sessionId: string,
  into: HTMLElement,
): { stop(): void } {
  const line = h('p', { class: 'replay-state', role: 'status', testid: 'replay-state', hidden: true });
  into.insertBefore(line, into.lastElementChild);
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  const again = () => (timer = setTimeout(() => void check(), REPLAY_POLL_MS));
  async function check(): Promise<void> {
    timer = null;
    let replay: Replay;
    try {
      replay = await api.replay(sessionId);
    } catch {
      if (!stopped) again(); // a passing failure: the next ask may answer
      return;
    }
    if (stopped) return;
    line.dataset.status = replay.status;
    if (replay.status === 'processing' || replay.status === 'recording') {
      line.replaceChildren('The replay is processing…');
      line.hidden = false;
      again();
    } else if (replay.status === 'ready') {
      line.replaceChildren(
        h(
          'a',
          {
            class: 'btn btn-control',
            href: `#/watch/${encodeURIComponent(sessionId)}`,
            testid: 'replay-link',
          },
          'Watch the replay',
        ),
      );
      line.hidden = false;
    } else if (replay.status === 'failed') {
      line.replaceChildren(`The replay could not be made: ${replay.error ?? 'unknown error'}.`);
      line.hidden = false;
    } else {
      line.hidden = true;
    }
  }
  void check();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
