import { countUpTo, fileTimeOf } from '../client/replay-timeline.js';
import type { Comment, ReplaySegment, UserId } from '../client/types.js';
import { commentRow } from './comment-row.js';
import { h } from './dom.js';
import { formatDuration } from './format.js';

/** Comments kept on the page at once; older ones leave as newer ones arrive, as in the live chat. */
const MAX_SHOWN = 300;

/** A page of `GET …/comments?after=` as the chat asks for it: this many, oldest first. */
const PAGE_SIZE = 200;

interface Timed {
  comment: Comment;
  /** Where in the file the comment was posted, in seconds. */
  at: number;
}

/**
 * The chat of an ended session, played back with its replay: a comment shows when the video
 * reaches the moment it was posted (its `ts` mapped onto the file through the replay's timeline).
 * The list always holds exactly the comments up to the player's position, so a seek back removes
 * what has not been said yet and a seek forward adds what was; while playing, the list follows
 * every animation frame (`timeupdate` alone comes only every quarter second or so).
 */
export class ReplayChat {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly empty: HTMLElement;
  private readonly note: HTMLElement;
  /** Every comment loaded, by file time (then offset); `times` is the same order, for searching. */
  private timed: Timed[] = [];
  private times: number[] = [];
  /** The slice of `timed` on the page: `[first, end)`. */
  private first = 0;
  private end = 0;
  private position = 0;
  private frame = 0;
  private detach: (() => void) | null = null;
  private disposed = false;

  /** `hostId` gets the "Host" badge; `startedAt` places comments when there is no timeline. */
  constructor(
    private readonly hostId: UserId,
    private readonly startedAt: string,
  ) {
    this.list = h('ol', { class: 'comment-list', testid: 'replay-comments', 'aria-live': 'off' });
    this.empty = h('p', { class: 'comment-empty' }, 'Comments appear here as the replay reaches them.');
    this.note = h('p', { class: 'chat-note', role: 'status', hidden: true });
    this.element = h(
      'section',
      { class: 'panel chat replay-chat', testid: 'replay-chat' },
      h('header', { class: 'panel-header' }, h('h2', {}, 'Chat replay')),
      h('div', { class: 'comment-scroll' }, this.empty, this.list),
      this.note,
    );
  }

  /** A line under the chat (why it is empty, or that it could not be read). */
  setNote(text: string | null, failed = false): void {
    this.note.textContent = text ?? '';
    this.note.hidden = !text;
    this.note.classList.toggle('failed', failed);
  }

  /**
   * Reads the whole chat, page by page (`fetchAfter(offset)` → the comments after it, oldest
   * first), placing each page on the timeline as it comes, so playback need not wait for the end.
   */
  async load(
    fetchAfter: (offset: number, limit: number) => Promise<Comment[]>,
    timeline: ReplaySegment[],
  ): Promise<void> {
    let after = 0;
    for (;;) {
      const page = await fetchAfter(after, PAGE_SIZE);
      if (this.disposed) return;
      this.add(page, timeline);
      // Until an empty page, not a short one: a server may cap the page below what was asked.
      if (page.length === 0) return;
      after = page[page.length - 1]!.offset;
    }
  }

  /** Follows `video`: its position decides which comments show. */
  follow(video: HTMLVideoElement): void {
    this.detach?.();
    const sync = () => this.sync(video.ended ? Infinity : video.currentTime);
    const tick = () => {
      sync();
      this.frame = video.paused ? 0 : requestAnimationFrame(tick);
    };
    const start = () => {
      cancelAnimationFrame(this.frame);
      tick();
    };
    const events = ['timeupdate', 'seeking', 'seeked', 'pause', 'ended', 'loadedmetadata'] as const;
    for (const name of events) video.addEventListener(name, sync);
    video.addEventListener('play', start);
    this.detach = () => {
      for (const name of events) video.removeEventListener(name, sync);
      video.removeEventListener('play', start);
      cancelAnimationFrame(this.frame);
    };
    sync();
  }

  /** Shows exactly the comments posted up to `seconds` into the file. */
  sync(seconds: number): void {
    this.position = seconds;
    const end = countUpTo(this.times, seconds);
    const first = Math.max(0, end - MAX_SHOWN);
    if (end === this.end && first === this.first) return;
    const scroller = this.list.parentElement!;
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    let redrawn = false;
    if (end > this.end && first <= this.end && first >= this.first) {
      // Playing on (or a short jump ahead): add what was said since, drop what scrolled past.
      this.list.append(...this.timed.slice(this.end, end).map((entry) => this.render(entry)));
      for (let drop = first - this.first; drop > 0; drop--) this.list.firstElementChild?.remove();
    } else if (end < this.end && first === this.first) {
      // A seek back within what is shown: take off what has not been said yet.
      for (let drop = this.end - end; drop > 0; drop--) this.list.lastElementChild?.remove();
    } else {
      this.list.replaceChildren(...this.timed.slice(first, end).map((entry) => this.render(entry)));
      redrawn = true;
    }
    this.first = first;
    this.end = end;
    this.empty.hidden = end > 0;
    // Like the live chat: the newest stays in view unless the viewer scrolled up to read.
    if (atBottom || redrawn) scroller.scrollTop = scroller.scrollHeight;
  }

  dispose(): void {
    this.disposed = true;
    this.detach?.();
    this.detach = null;
  }

  /** Places comments on the file's timeline and shows the list again at the current position. */
  private add(comments: Comment[], timeline: ReplaySegment[]): void {
    if (comments.length === 0) return;
    const added = comments.map((comment) => ({
      comment,
      at: fileTimeOf(comment.ts, timeline, this.startedAt),
    }));
    this.timed = [...this.timed, ...added].sort((a, b) => a.at - b.at || a.comment.offset - b.comment.offset);
    this.times = this.timed.map((entry) => entry.at);
    // The order may have changed under what is shown: draw it again from scratch.
    this.first = 0;
    this.end = 0;
    this.list.replaceChildren();
    this.sync(this.position);
  }

  private render({ comment, at }: Timed): HTMLLIElement {
    // Where in the replay it was said, which is what a viewer of the replay can use.
    const time = h(
      'time',
      { datetime: comment.ts, title: new Date(comment.ts).toLocaleString() },
      formatDuration(at),
    );
    return commentRow(comment, {
      hostId: this.hostId,
      time,
      attrs: { testid: 'replay-comment', 'data-offset-seconds': Math.round(at * 1000) / 1000 },
    });
  }
}
