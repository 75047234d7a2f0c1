import type { ApiClient } from './api.js';
import { ReconnectingSocket, type SocketStatus } from './reconnecting-socket.js';
import type { Comment, LiveEvent } from './types.js';

export interface LiveChannelHandlers {
  /** Each comment exactly once, whether it came over the socket or from a reload. */
  onComment(comment: Comment): void;
  onViewerCount(count: number): void;
  onViewsTotal(total: number): void;
  onSessionInfo?(info: Extract<LiveEvent, { type: 'session_info' }>): void;
  onSessionEnded(event: { ended_at: string; live_duration_seconds: number }): void;
  onStatus?(status: SocketStatus): void;
  /** A comment reload after (re)connecting failed; the socket itself keeps going. */
  onError?(error: unknown): void;
}

/**
 * Comments and counts for one session over `/ws/live/{id}`. On every (re)connect it reloads the
 * recent comments over REST so nothing said while disconnected is missed, and drops duplicates
 * by comment id.
 */
export class LiveChannel {
  private readonly seen = new Set<string>();
  private readonly socket: ReconnectingSocket;

  constructor(
    private readonly api: ApiClient,
    private readonly sessionId: string,
    private readonly handlers: LiveChannelHandlers,
  ) {
    this.socket = new ReconnectingSocket({
      url: () => api.socketUrl('live', sessionId),
      onOpen: () => void this.reloadComments(),
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

  /** Posts over REST (acknowledged once stored) and shows it at once; the echo is deduplicated. */
  async postComment(message: string): Promise<Comment> {
    const comment = await this.api.postComment(this.sessionId, message);
    this.deliver(comment);
    return comment;
  }

  private async reloadComments(): Promise<void> {
    try {
      const comments = await this.api.recentComments(this.sessionId, 50);
      for (const comment of comments) this.deliver(comment);
    } catch (error) {
      this.handlers.onError?.(error);
    }
  }

  private deliver(comment: Comment): void {
    if (this.seen.has(comment.id)) return;
    this.seen.add(comment.id);
    this.handlers.onComment(comment);
  }

  private dispatch(event: LiveEvent): void {
    switch (event.type) {
      case 'comment': {
        const { type: _type, ...comment } = event;
        this.deliver(comment);
        break;
      }
      case 'viewer_count':
        this.handlers.onViewerCount(event.count);
        break;
      case 'views_total':
        this.handlers.onViewsTotal(event.total);
        break;
      case 'session_info':
        this.handlers.onSessionInfo?.(event);
        this.handlers.onViewerCount(event.viewer_count);
        this.handlers.onViewsTotal(event.views_total);
        if (!event.is_live && event.ended_at) {
          this.handlers.onSessionEnded({
            ended_at: event.ended_at,
            live_duration_seconds: event.live_duration_seconds,
          });
        }
        break;
      case 'session_ended':
        this.handlers.onSessionEnded(event);
        break;
      default:
        break; // pong, error and future events need nothing here
    }
  }
}
