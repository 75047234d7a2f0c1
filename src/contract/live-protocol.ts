/**
 * `/ws/live/{session_id}`: every message of the chat-and-presence socket, both ways.
 *
 * On connect, in this order: `viewer_count`, `views_total`, `session_info`. Then `comment`,
 * `viewer_count` and `views_total` as they change (counts coalesced per interval), and
 * `session_ended` just before the server closes the socket with 1000. Client → server: `ping`
 * (answered `pong`) and `comment` (posted exactly as over REST). Anything else gets `error`.
 */
import type { ErrorEventCode } from './errors.js';
import type { Comment, LiveSession } from './rest.js';

export interface ViewerCountMessage {
  type: 'viewer_count';
  /** Connections of non-vendor users across all instances. */
  count: number;
}

export interface ViewsTotalMessage {
  type: 'views_total';
  /** Unique non-vendor users who ever joined; never goes backwards on a connection. */
  total: number;
}

/** The session as the socket opens: exactly the REST session object. */
export type SessionInfoMessage = { type: 'session_info' } & LiveSession;

export type CommentMessage = { type: 'comment' } & Comment;

export interface SessionEndedMessage {
  type: 'session_ended';
  session_id: string;
  ended_at: string;
  live_duration_seconds: number;
}

export interface PongMessage {
  type: 'pong';
}

/** Something the server could not take; the connection stays open. */
export interface ErrorMessage {
  type: 'error';
  code: ErrorEventCode;
  detail: string;
  /** With `rate_limited`: seconds until the client may send again. */
  retry_after?: number;
}

/** Server → client on `/ws/live`. */
export type LiveServerMessage =
  | ViewerCountMessage
  | ViewsTotalMessage
  | SessionInfoMessage
  | CommentMessage
  | SessionEndedMessage
  | PongMessage
  | ErrorMessage;

/** Client → server on `/ws/live`. */
export type LiveClientMessage = { type: 'ping' } | { type: 'comment'; message: string };

/** The `session_info` a socket opens with. */
export function sessionInfoMessage(session: LiveSession): SessionInfoMessage {
  return { type: 'session_info', ...session };
}

/** The `session_ended` both endpoints send before closing with 1000. */
export function sessionEndedMessage(session: LiveSession): SessionEndedMessage {
  return {
    type: 'session_ended',
    session_id: session.session_id,
    // An ended session has its ended_at; the clock is only a fallback for the type's sake.
    ended_at: session.ended_at ?? new Date().toISOString(),
    live_duration_seconds: session.live_duration_seconds,
  };
}
