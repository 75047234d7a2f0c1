import type { ApiClient } from './api.js';
import { ReconnectingSocket, type SocketStatus } from './reconnecting-socket.js';
import type { ReactionCounts, ReactionKind, ReactionTotals } from '../../../src/contract/reactions.js';
import type { Comment, LiveEvent, MediaState, Poll } from './types.js';

type SessionInfo = Extract<LiveEvent, { type: 'session_info' }>;

/** How many of the newest comments a page loads over REST (first connect, or a gap too long to replay). */
const RECENT_COMMENTS = 50;

export interface LiveChannelHandlers {
  /** Each comment exactly once, whether it came over the socket, from a post or from a reload. */
  onComment(comment: Comment): void;
  /** A comment was deleted (by its author, the host or a moderator): it must vanish. */
  onCommentDeleted?(id: string): void;
  /** The pinned comment, or null when nothing is pinned. */
  onPinned?(comment: Comment | null): void;
  /** The session's slow mode: seconds between one viewer's comments, 0 when off. */
  onSlowMode?(seconds: number): void;
  /**
   * More was missed while disconnected than the server replays: `comments` are the newest ones
   * over REST, and every comment shown with an offset up to `upTo` that is not among them is gone
   * (deleted meanwhile, or older than the reload reaches).
   */
  onCommentsReloaded?(comments: Comment[], upTo: number): void;
  onViewerCount(count: number): void;
  onViewsTotal(total: number): void;
  onSessionInfo?(info: SessionInfo): void;
  onSessionEnded(event: { ended_at: string; live_duration_seconds: number }): void;
  /**
   * The host's video through the media server (SFU mode only): the state now on every connect,
   * then each change. Not replayed by offset: the latest state is all a page needs.
   */
  onMedia?(state: MediaState): void;
  /** Everyone's reactions of the last window (at most one event a second). */
  onReactions?(counts: ReactionCounts, windowMs: number): void;
  /** The session's reactions so far, on every connect (then add up onReactions' counts). */
  onReactionsTotal?(totals: ReactionTotals): void;
  /**
   * A poll's latest state: opened, its tallies, closed (a tally of a poll already closed is
   * never passed on). On every connect, the open poll or null when none is open.
   */
  onPoll?(poll: Poll | null): void;
  onStatus?(status: SocketStatus): void;
  /** A comment load over REST failed; the socket itself keeps going. */
  onError?(error: unknown): void;
}

/** What one connection of the socket was opened with, and what it has said so far. */
interface Connection {
  /** The `?since=` it carried: null on a first connection (nothing seen yet). */
  since: number | null;
  /** Its `session_info`'s offset: where the chat stood when it opened. */
  openedAt: number | null;
}

/**
 * Comments, chat events and counts for one session over `/ws/live/{id}`.
 *
 * The first connection loads the newest comments over REST once `session_info` has said where
 * the chat stands (its `offset`). Every reconnect carries `?since=<the highest offset heard on the
 * socket>`, and the server replays what was missed (comments, deletions, pins, settings) in order
 * before `recovered`; `recovered {complete: false}` (too much missed) reloads the newest comments
 * over REST instead. Offsets are only taken from the socket: a comment this page posted over REST
 * does not move the resume point, since events before it may still be on their way.
 *
 * Comments are de-duplicated by id (a post is shown from its REST answer and echoed by the socket;
 * a first load may overlap the live stream), and a deleted comment is never shown again.
 */
export class LiveChannel {
  private readonly seen = new Set<string>();
  private readonly deleted = new Set<string>();
  private readonly closedPolls = new Set<string>();
  private readonly socket: ReconnectingSocket;
  /** The highest offset heard on the socket; null until the first `session_info`. */
  private lastOffset: number | null = null;
  private connection: Connection = { since: null, openedAt: null };

  constructor(
    private readonly api: ApiClient,
    private readonly sessionId: string,
    private readonly handlers: LiveChannelHandlers,
  ) {
    this.socket = new ReconnectingSocket({
      // Read before every attempt, so each reconnect resumes from the latest offset.
      url: () => {
        const since = this.lastOffset;
        this.connection = { since, openedAt: null };
        return api.socketUrl('live', sessionId, since === null ? {} : { since });
      },
      onMessage: (message) => this.dispatch(message as LiveEvent),
      onStatus: (status) => handlers.onStatus?.(status),
    });
  }

  start(): void {
    this.socket.start();
  }

  close(): void {
    this.socket.close();
  }

  /** Where a reconnect would resume (`?since=`); null before the socket first said. */
  get offset(): number | null {
    return this.lastOffset;
  }

  /** A tap: sent on the socket, never answered (dropped while disconnected: reactions are lossy). */
  react(kind: ReactionKind): void {
    this.socket.send({ type: 'reaction', kind });
  }

  /** Posts over REST (acknowledged once stored) and shows it at once; the echo is deduplicated. */
  async postComment(message: string): Promise<Comment> {
    const comment = await this.api.postComment(this.sessionId, message);
    this.deliver(comment);
    return comment;
  }

  private async loadRecent(): Promise<Comment[] | null> {
    try {
      return await this.api.recentComments(this.sessionId, RECENT_COMMENTS);
    } catch (error) {
      this.handlers.onError?.(error);
      return null;
    }
  }

  private deliver(comment: Comment): void {
    if (this.seen.has(comment.id) || this.deleted.has(comment.id)) return;
    this.seen.add(comment.id);
    this.handlers.onComment(comment);
  }

  private advance(offset: number): void {
    if (this.lastOffset === null || offset > this.lastOffset) this.lastOffset = offset;
  }

  private dispatch(event: LiveEvent): void {
    switch (event.type) {
      case 'comment': {
        const { type: _type, ...comment } = event;
        this.deliver(comment);
        this.advance(event.offset);
        break;
      }
      case 'comment_deleted':
        this.deleted.add(event.id);
        this.handlers.onCommentDeleted?.(event.id);
        this.advance(event.offset);
        break;
      case 'comment_pinned':
        this.handlers.onPinned?.(event.comment);
        this.advance(event.offset);
        break;
      case 'comment_unpinned':
        this.handlers.onPinned?.(null);
        this.advance(event.offset);
        break;
      case 'chat_settings':
        this.handlers.onSlowMode?.(event.slow_mode_seconds);
        this.advance(event.offset);
        break;
      case 'session_info':
        this.openSession(event);
        break;
      case 'recovered':
        if (event.complete) this.advance(event.offset);
        else void this.reload();
        break;
      case 'viewer_count':
        this.handlers.onViewerCount(event.count);
        break;
      case 'views_total':
        this.handlers.onViewsTotal(event.total);
        break;
      case 'session_ended':
        this.handlers.onSessionEnded(event);
        break;
      case 'media':
        this.handlers.onMedia?.(event.state);
        break;
      case 'reactions':
        this.handlers.onReactions?.(event.counts, event.window_ms);
        break;
      case 'poll':
        this.showPoll(event.poll);
        if (event.offset !== undefined) this.advance(event.offset);
        break;
      default:
        break; // pong, error and future events need nothing here
    }
  }

  private openSession(info: SessionInfo): void {
    this.connection.openedAt = info.offset;
    this.handlers.onSessionInfo?.(info);
    this.handlers.onReactionsTotal?.(info.reactions_total);
    this.handlers.onPoll?.(info.poll);
    this.handlers.onViewerCount(info.viewer_count);
    this.handlers.onViewsTotal(info.views_total);
    // The pin and slow mode as they are now; a replay that follows re-applies what changed in order.
    this.handlers.onPinned?.(info.pinned);
    this.handlers.onSlowMode?.(info.slow_mode_seconds);
    if (!info.is_live && info.ended_at) {
      this.handlers.onSessionEnded({
        ended_at: info.ended_at,
        live_duration_seconds: info.live_duration_seconds,
      });
      return;
    }
    // A first connection: everything up to here comes over REST, everything after on the socket.
    // A resumed one (`since`) waits for its replay and `recovered` instead.
    if (this.connection.since === null) {
      this.advance(info.offset);
      void this.loadRecent().then((comments) => comments?.forEach((comment) => this.deliver(comment)));
    }
  }

  private showPoll(poll: Poll): void {
    if (poll.status === 'closed') this.closedPolls.add(poll.id);
    else if (this.closedPolls.has(poll.id)) return; // a tally that the closing overtook
    this.handlers.onPoll?.(poll);
  }

  /** `recovered {complete: false}`: the newest comments over REST, from where this connection opened. */
  private async reload(): Promise<void> {
    const upTo = this.connection.openedAt;
    if (upTo === null) return;
    // The server's word on where the chat stands, even below ours: an offset it does not know
    // would only be refused again on the next reconnect.
    this.lastOffset = upTo;
    const comments = await this.loadRecent();
    if (!comments) return;
    const fresh = comments.filter((comment) => !this.deleted.has(comment.id));
    for (const comment of fresh) this.seen.add(comment.id);
    this.handlers.onCommentsReloaded?.(fresh, upTo);
  }
}
