import type { ColumnType, Generated } from 'kysely';
import type { UserId } from '../contract/ids.js';

/**
 * A user id as the database holds it: a UUID string on a database this service created, or an
 * integer on a database adopted from the original service whose `users.id` is INTEGER.
 */
export type { UserId };

/** Whether `users.id` (and every column referencing it) is UUID or INTEGER. */
export type UserIdType = 'uuid' | 'integer';

export interface UsersTable {
  id: Generated<UserId>;
  email: string;
  name: string;
  password_hash: string;
  role: string;
  created_at: Generated<Date>;
}

export interface LiveSessionsTable {
  id: Generated<string>;
  vendor_id: UserId;
  title: string;
  is_live: Generated<boolean>;
  started_at: Generated<Date>;
  ended_at: Date | null;
  /** The offset of the session's last comment or chat event (0: none yet). */
  last_offset: Generated<number>;
  slow_mode_seconds: Generated<number>;
  pinned_comment_id: string | null;
  /** Record for a replay: the vendor's choice at creation; null follows RECORDINGS (migration 006). */
  record: boolean | null;
  /** When the session's newest thumbnail was taken (migration 010); null: none yet. */
  thumbnail_at: Date | null;
}

export interface CommentsTable {
  id: Generated<string>;
  /** Insertion order; comments page by it. Never leaves the database. */
  seq: Generated<string>;
  session_id: string;
  user_id: UserId;
  message: string;
  created_at: Generated<Date>;
  /** The comment's offset among its session's events (the wire's `offset`). */
  event_offset: number;
  deleted_at: Date | null;
  deleted_by: UserId | null;
}

/** Every comment and chat event of a session, as the frame /ws/live sent, for replay. */
export interface ChatEventsTable {
  session_id: string;
  event_offset: number;
  type: string;
  frame: string;
  created_at: Generated<Date>;
}

export interface ModeratorsTable {
  vendor_id: UserId;
  user_id: UserId;
  created_at: Generated<Date>;
}

/** Bumped with every change to a vendor's bans, moderators or blocked terms (live/chat-rules.ts). */
export interface ChatRulesVersionsTable {
  vendor_id: UserId;
  version: Generated<number>;
}

export interface BansTable {
  vendor_id: UserId;
  user_id: UserId;
  /** null: until lifted. */
  until: Date | null;
  created_by: UserId;
  created_at: Generated<Date>;
}

export interface BlockedTermsTable {
  vendor_id: UserId;
  term: string;
}

export interface ModerationLogTable {
  id: Generated<string>;
  vendor_id: UserId;
  session_id: string | null;
  actor_id: UserId;
  action: string;
  target_user_id: UserId | null;
  comment_id: string | null;
  detail: string | null;
  created_at: Generated<Date>;
}

export interface SessionViewsTable {
  session_id: string;
  user_id: UserId;
  first_viewed_at: Generated<Date>;
}

/** One event for one receiver, until delivered (then deleted) or given up (migration 004). */
export interface WebhookOutboxTable {
  id: Generated<string>;
  event_id: string;
  event_type: string;
  url: string;
  /** The exact JSON body, the same on every attempt. */
  body: string;
  attempts: Generated<number>;
  /** When it is due; pushed past the delivery timeout while an instance delivers it (a lease). */
  next_attempt_at: Generated<Date>;
  created_at: Generated<Date>;
  last_error: string | null;
  given_up_at: Date | null;
}

/** A session's stats, written when it ends (migration 004). */
export interface SessionStatsTable {
  session_id: string;
  /** null for sessions that ended before stats were recorded. */
  peak_viewers: number | null;
  unique_views: number;
  comments: number;
  duration_seconds: number;
  /** Reactions per kind as the session ended; null for sessions that ended before migration 008. */
  reactions: Record<string, number> | null;
  recorded_at: Generated<Date>;
}

/** A session's reactions of one kind, added to by every instance's window of taps (migration 008). */
export interface SessionReactionsTable {
  session_id: string;
  kind: string;
  /** bigint: node-pg hands it over as a string. */
  total: string | number;
}

/** A poll of a session (migration 009); an open one past `ends_at` is a job that closes it. */
export interface PollsTable {
  id: string;
  session_id: string;
  question: string;
  /** The options' texts, in order (jsonb: written as its JSON text). */
  options: ColumnType<string[], string, string>;
  status: 'open' | 'closed';
  created_by: UserId;
  created_at: Generated<Date>;
  ends_at: Date;
  closed_at: Date | null;
  lease_until: Date | null;
  attempts: Generated<number>;
}

/** A user's current vote in a poll. */
export interface PollVotesTable {
  poll_id: string;
  user_id: UserId;
  option: number;
  voted_at: Generated<Date>;
}

/** A WHIP client's long-lived bearer token; only its hash is kept (migration 005). */
export interface StreamKeysTable {
  id: Generated<string>;
  user_id: UserId;
  name: string;
  /** The title of a session a publish with this key starts; null: the key's name. */
  title: string | null;
  /** Hex SHA-256 of the key. */
  key_hash: string;
  created_at: Generated<Date>;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** Where a session's VideoRoom lives and what viewers are told about its video (migration 005). */
export interface MediaRoomsTable {
  session_id: string;
  /** The Janus server's name (host:port of its WebSocket API). */
  server: string;
  room_id: string | number;
  /** Needed to destroy the room; never leaves the server. */
  secret: string;
  /** The feed id of the current publisher; null while nobody publishes. */
  publisher: string | null;
  /** live | reconnecting | stopped */
  state: Generated<string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** A session's replay and its processing job (migration 006). */
export interface ReplaysTable {
  session_id: string;
  /** recording | processing | ready | failed */
  status: string;
  /** Where the storage keeps the file (ReplayStorage); null until ready. */
  storage_key: string | null;
  content_type: string | null;
  size_bytes: string | number | null;
  duration_seconds: number | null;
  /** JSON: ReplaySegment[]. */
  timeline: Generated<string>;
  error: string | null;
  attempts: Generated<number>;
  /** A job is not claimed before this (the recorder needs a moment to close its files). */
  not_before: Generated<Date>;
  /** While set and ahead, an instance is processing the job. */
  lease_until: Date | null;
  created_at: Generated<Date>;
  ready_at: Date | null;
}

export interface SessionThumbnailsTable {
  session_id: string;
  /** A JPEG about 480 px wide. */
  jpeg: Buffer;
  taken_at: Date;
}

export interface Database {
  users: UsersTable;
  live_sessions: LiveSessionsTable;
  comments: CommentsTable;
  session_views: SessionViewsTable;
  webhook_outbox: WebhookOutboxTable;
  session_stats: SessionStatsTable;
  session_reactions: SessionReactionsTable;
  polls: PollsTable;
  poll_votes: PollVotesTable;
  chat_events: ChatEventsTable;
  chat_rules_versions: ChatRulesVersionsTable;
  moderators: ModeratorsTable;
  bans: BansTable;
  blocked_terms: BlockedTermsTable;
  moderation_log: ModerationLogTable;
  stream_keys: StreamKeysTable;
  media_rooms: MediaRoomsTable;
  replays: ReplaysTable;
  session_thumbnails: SessionThumbnailsTable;
}
