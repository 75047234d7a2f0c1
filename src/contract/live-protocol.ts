/**
 * `/ws/live/{session_id}`: every message of the chat-and-presence socket, both ways.
 *
 * On connect, in this order: `viewer_count`, `views_total`, `session_info`; with `?since=<offset>`
 * then every missed chat event in order and `recovered`. Then `comment` and the chat events
 * (`comment_deleted`, `comment_pinned`, `comment_unpinned`, `chat_settings`), each with its
 * `offset`, and `viewer_count` and `views_total` as they change (counts coalesced per interval),
 * `media` (SFU mode: the vendor's video is live, reconnecting or stopped) on connect and as it
 * changes, `reactions` (counts of the last window, at most one per second) while viewers react,
 * `poll` as a poll opens (with its offset), as its tallies move (at most one per second, no
 * offset) and as it closes (with its offset), and `session_ended` just before the server closes the socket with 1000. Client → server:
 * `ping` (answered `pong`), `comment` (posted exactly as over REST) and `reaction` (a tap: never
 * answered; over the user's budget it is dropped). Anything else gets `error`.
 */
import type { ErrorEventCode } from './errors.js';
import type { MediaState } from './media.js';
import type { Poll } from './polls.js';
import type { ReactionCounts, ReactionKind, ReactionTotals } from './reactions.js';
import type { ChatState, Comment, LiveSession } from './rest.js';

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

/**
 * The session as the socket opens: the REST session object, the chat's state, the session's
 * reactions so far (`reactions_total`, additive; at most a second behind the taps) and its open
 * poll with its tallies (`poll`, additive; null when none is open).
 */
export type SessionInfoMessage = { type: 'session_info' } & LiveSession &
  ChatState & { reactions_total: ReactionTotals; poll: Poll | null };

export type CommentMessage = { type: 'comment' } & Comment;

export interface SessionEndedMessage {
  type: 'session_ended';
  session_id: string;
  ended_at: string;
  live_duration_seconds: number;
}

/** A comment was deleted (by its author, the vendor or a moderator): remove it. */
export interface CommentDeletedMessage {
  type: 'comment_deleted';
  id: string;
  offset: number;
}

export interface CommentPinnedMessage {
  type: 'comment_pinned';
  comment: Comment;
  offset: number;
}

export interface CommentUnpinnedMessage {
  type: 'comment_unpinned';
  offset: number;
}

export interface ChatSettingsMessage {
  type: 'chat_settings';
  slow_mode_seconds: number;
  offset: number;
}

/**
 * After `?since=<offset>`: every event the client missed was replayed (`complete: true`, `offset`
 * the last one replayed, or `since` when none), or it missed too many or named an offset the
 * session never had (`complete: false`, nothing replayed: reload over REST).
 */
export interface RecoveredMessage {
  type: 'recovered';
  offset: number;
  complete: boolean;
}

/**
 * A poll opened (`status: "open"`, with `offset`), its tallies moved (`status: "open"`, no
 * `offset`: at most one per POLL_TALLY_MS while votes arrive, never replayed), or it closed
 * (`status: "closed"`, final counts, with `offset`). Show the latest of a poll; a tally of a
 * poll the client saw closed is stale and ignored.
 */
export interface PollMessage {
  type: 'poll';
  poll: Poll;
  offset?: number;
}

/** A poll's opening or closing: a chat event. */
export type PollEventMessage = PollMessage & { offset: number };

/** Every event with an offset: what a reconnecting client may have missed, and gets replayed. */
export type ChatEventMessage =
  | CommentMessage
  | CommentDeletedMessage
  | CommentPinnedMessage
  | CommentUnpinnedMessage
  | ChatSettingsMessage
  | PollEventMessage;

/**
 * The session's video through the media server (SFU mode only; additive): sent once on connect,
 * after `session_info` (and `recovered`), then whenever it changes. On `live` a player
 * subscribes (again) over WHEP; on `reconnecting` it shows that and waits; on `stopped` the
 * vendor is not publishing. Never sent in mesh mode.
 */
export interface MediaMessage {
  type: 'media';
  state: MediaState;
}

/**
 * Viewers' reactions of the last window, summed over every instance: at most one per
 * REACTIONS_WINDOW_MS on a connection, only while viewers react. `counts` leaves out kinds nobody
 * sent; `window_ms` is the time they were gathered over (clients spread their animation over it).
 */
export interface ReactionsMessage {
  type: 'reactions';
  counts: ReactionCounts;
  window_ms: number;
}

export interface PongMessage {
  type: 'pong';
}

/** Something the server could not take; the connection stays open. */
export interface ErrorMessage {
  type: 'error';
  code: ErrorEventCode;
  detail: string;
  /** With `rate_limited` and `slow_mode`: seconds until the client may send again. */
  retry_after?: number;
  /** With `banned`: ISO time the ban ends, or null when it lasts until lifted. */
  until?: string | null;
}

/** Server → client on `/ws/live`. */
export type LiveServerMessage =
  | ViewerCountMessage
  | ViewsTotalMessage
  | SessionInfoMessage
  | CommentMessage
  | SessionEndedMessage
  | CommentDeletedMessage
  | CommentPinnedMessage
  | CommentUnpinnedMessage
  | ChatSettingsMessage
  | RecoveredMessage
  | MediaMessage
  | ReactionsMessage
  | PollMessage
  | PongMessage
  | ErrorMessage;

/** Client → server on `/ws/live`. */
export type LiveClientMessage =
  { type: 'ping' } | { type: 'comment'; message: string } | { type: 'reaction'; kind: ReactionKind };

/** The `session_info` a socket opens with. */
export function sessionInfoMessage(
  session: LiveSession,
  chat: ChatState,
  reactionsTotal: ReactionTotals,
  poll: Poll | null,
): SessionInfoMessage {
  return { type: 'session_info', ...session, ...chat, reactions_total: reactionsTotal, poll };
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
