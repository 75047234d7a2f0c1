/**
 * Webhooks: what a receiver (WEBHOOK_URLS) is POSTed, defined once. docs/webhooks.md shows
 * every payload and how to check the signature.
 *
 * The body is `{id, type, created_at, data}`; the header `Streammeon-Signature:
 * t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (the Stripe scheme), signed with
 * WEBHOOK_SECRET afresh on each attempt. The same event is retried with the same `id` until a
 * receiver answers 2xx: receivers de-duplicate by `id`.
 */
import type { UserId } from './ids.js';
import type { ReactionTotals } from './reactions.js';

export const SIGNATURE_HEADER = 'Streammeon-Signature';

/** A session went live. */
export interface SessionStartedData {
  session_id: string;
  title: string;
  vendor_id: UserId;
  started_at: string;
}

/** A session ended, with its stats (the same meanings as the session's `stats`). */
export interface SessionEndedData {
  session_id: string;
  vendor_id: UserId;
  ended_at: string;
  /** Whole seconds from start to end. */
  duration_seconds: number;
  /** The most viewer connections at once (non-vendors, as `viewer_count`), across instances. */
  peak_viewers: number;
  /** Unique non-vendor users who joined (as `views_total`). */
  unique_views: number;
  /** Comments stored during the session (including any deleted later by moderation). */
  comments: number;
  /** Reactions per kind (additive). */
  reactions: ReactionTotals;
}

/** A user was banned or timed out from every session of a vendor (chat moderation). */
export interface UserBannedData {
  vendor_id: UserId;
  user_id: UserId;
  /** The session the ban was made in (it holds in all of the vendor's sessions). */
  session_id: string;
  /** When a timeout ends; null: until lifted. */
  until: string | null;
  banned_by: UserId;
}

/** A comment was deleted (by its author, the vendor or a moderator). */
export interface CommentDeletedData {
  session_id: string;
  comment_id: string;
  /** The comment's author. */
  user_id: UserId;
  deleted_by: UserId;
}

/** Every event type and its `data`. */
export interface WebhookEvents {
  'session.started': SessionStartedData;
  'session.ended': SessionEndedData;
  'user.banned': UserBannedData;
  'comment.deleted': CommentDeletedData;
}

export type WebhookEventType = keyof WebhookEvents;

/** The JSON body of a webhook POST. */
export interface WebhookEvent<T extends WebhookEventType = WebhookEventType> {
  /** The event's id (a UUID): the same on every retry, for receivers to de-duplicate. */
  id: string;
  type: T;
  /** When the change happened (ISO 8601). */
  created_at: string;
  data: WebhookEvents[T];
}
