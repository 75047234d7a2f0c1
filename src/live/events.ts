import type { ChatEventMessage, CommentMessage } from '../contract/live-protocol.js';
import type { Comment, LiveSession } from '../contract/rest.js';

/**
 * What the live services tell the realtime layer. The REST routes and the WebSocket `comment`
 * message both go through the services, so both reach viewers the same way.
 */
export interface LiveEvents {
  /** A comment was committed; deliver it to the session's viewers. */
  commentPosted(comment: Comment): void;
  /** A chat event (deletion, pin, unpin, settings) was committed; deliver it to the session's viewers. */
  chatEvent(sessionId: string, message: Exclude<ChatEventMessage, CommentMessage>): void;
  /** A session went live (committed): the lobby changed. */
  sessionStarted?(session: LiveSession): void;
  /** A session ended; tell its peers and close their sockets. */
  sessionEnded(session: LiveSession): void;
}
