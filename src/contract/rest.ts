/**
 * The REST contract: every body a client sends and every answer it gets, as TypeBox schemas. The
 * routes validate and serialize with these, the OpenAPI document is generated from them, and the
 * TypeScript types (`Static<>`) are derived from them, never retyped: a field added here reaches
 * REST, the WebSocket events that carry the same objects, OpenAPI and the web client at once.
 */
import { Type, type Static } from 'typebox';
import { MAX_COMMENT_LENGTH } from './limits.js';
import { MediaHealthSchema, MediaModeSchema } from './media.js';
import { ReactionTotalsSchema } from './reactions.js';

/** A user id: a UUID string, or an integer on a database adopted from the original. */
export const UserIdSchema = Type.Union([Type.String(), Type.Integer()]);

export const RoleSchema = Type.Union([Type.Literal('vendor'), Type.Literal('user')]);
export type Role = Static<typeof RoleSchema>;

export const UserSchema = Type.Object({
  id: UserIdSchema,
  email: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  created_at: Type.String({ format: 'date-time' }),
});
/** A user as the API shows it. */
export type User = Static<typeof UserSchema>;

export const TokenResponseSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  user: UserSchema,
});
/** What register and login answer. */
export type AuthResult = Static<typeof TokenResponseSchema>;

export const RegisterBody = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  name: Type.String({ minLength: 1, maxLength: 100 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  role: Type.Optional(Type.Union([Type.Literal('vendor'), Type.Literal('user')], { default: 'user' })),
});

export const LoginBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 254 }),
  password: Type.String({ maxLength: 1024 }),
});

export const SessionStatsSchema = Type.Object(
  {
    peak_viewers: Type.Union([Type.Integer(), Type.Null()], {
      description:
        'the most viewer connections at once (non-vendors, as viewer_count), across instances; null for sessions that ended before stats were recorded',
    }),
    unique_views: Type.Integer({ description: 'unique non-vendor users who joined (views_total)' }),
    comments: Type.Integer({ description: 'comments stored during the session' }),
    duration_seconds: Type.Integer({ description: 'whole seconds from start to end' }),
    reactions: ReactionTotalsSchema,
  },
  { description: "an ended session's stats" },
);
/** What a session added up to, recorded when it ended. */
export type SessionStats = Static<typeof SessionStatsSchema>;

export const SessionSchema = Type.Object({
  session_id: Type.String({ format: 'uuid' }),
  title: Type.String(),
  vendor: Type.Object({ id: UserIdSchema, name: Type.String() }),
  is_live: Type.Boolean(),
  started_at: Type.String({ format: 'date-time' }),
  ended_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  viewer_count: Type.Integer({ description: 'viewer connections now, across all instances' }),
  views_total: Type.Integer({ description: 'unique non-vendor users who ever joined' }),
  live_duration_seconds: Type.Integer({ description: 'whole seconds; while live, now minus start' }),
  stats: Type.Union([SessionStatsSchema, Type.Null()], {
    description: 'null while live; once ended, what the session added up to (additive: not in the original)',
  }),
  replay_status: Type.Union(
    [
      Type.Literal('none'),
      Type.Literal('recording'),
      Type.Literal('processing'),
      Type.Literal('ready'),
      Type.Literal('failed'),
      Type.Null(),
    ],
    { description: 'null while live; once ended, its replay (GET /live/sessions/{id}/replay; additive)' },
  ),
  thumbnail_url: Type.Union([Type.String(), Type.Null()], {
    description:
      'the newest picture of the stream (GET /live/sessions/{id}/thumbnail, JPEG; the query names its version), kept after the end as the replay poster; null before there is one (additive)',
  }),
});
/** A live session as the API shows it. */
export type LiveSession = Static<typeof SessionSchema>;

export const SessionPageSchema = Type.Object({
  items: Type.Array(SessionSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});
/** A page of sessions, newest first; `next_cursor` fetches the next page, null at the end. */
export type SessionPage = Static<typeof SessionPageSchema>;

/** `GET /live/sessions/active`: a page of the lobby. */
export const LobbyQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
});

/** A 304 answer: the page named by If-None-Match is current. */
export const NotModifiedSchema = Type.Null({
  description: 'not modified: the page named by If-None-Match is current',
});

/** `/ws/live/{session_id}` and `/ws/signal/{session_id}`: the path. */
export const SocketParams = Type.Object({ session_id: Type.String({ maxLength: 64 }) });

/** `GET /me/sessions`: a page of the caller's ended sessions. */
export const MySessionsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
  authorization: Type.Optional(Type.String()),
});

export const CreateSessionBody = Type.Object({
  title: Type.String({ minLength: 1, maxLength: 200 }),
  record: Type.Optional(
    Type.Boolean({
      description: 'record the session for a replay (SFU mode); absent: the server default (RECORDINGS)',
    }),
  ),
});

export const CommentSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  session_id: Type.String({ format: 'uuid' }),
  user_id: UserIdSchema,
  user_name: Type.String(),
  message: Type.String(),
  ts: Type.String({ format: 'date-time' }),
  offset: Type.Integer({
    description: "the comment's place among its session's comments and chat events (see /ws/live ?since=)",
  }),
});
/** A comment as the API and the `comment` WebSocket event show it. */
export type Comment = Static<typeof CommentSchema>;

export const CommentListSchema = Type.Object({ items: Type.Array(CommentSchema) });

export const CommentListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  before: Type.Optional(Type.String({ maxLength: 64, description: 'a comment id: page back from it' })),
  after: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: 'an offset: the comments after it, oldest first (a client catching up over REST)',
    }),
  ),
});

export const CommentParams = Type.Object({
  session_id: Type.String({ maxLength: 64 }),
  comment_id: Type.String({ maxLength: 64 }),
});

/** A session's chat as /ws/live's `session_info` opens it (additive to the session object). */
export const ChatStateSchema = Type.Object({
  pinned: Type.Union([CommentSchema, Type.Null()]),
  slow_mode_seconds: Type.Integer(),
  /** The offset of the session's last comment or chat event; 0 before the first. */
  offset: Type.Integer(),
});
export type ChatState = Static<typeof ChatStateSchema>;

/** Seconds of slow mode at most: an hour. */
export const MAX_SLOW_MODE_SECONDS = 3600;

export const ChatSettingsBody = Type.Object({
  slow_mode_seconds: Type.Integer({
    minimum: 0,
    maximum: MAX_SLOW_MODE_SECONDS,
    description: "seconds between one user's comments (vendor and moderators exempt); 0: off",
  }),
});
export const ChatSettingsSchema = Type.Object({ slow_mode_seconds: Type.Integer() });

export const PinBody = Type.Object({ comment_id: Type.String({ maxLength: 64 }) });

export const UserParams = Type.Object({ user_id: Type.String({ maxLength: 64 }) });
export const SessionUserParams = Type.Object({
  session_id: Type.String({ maxLength: 64 }),
  user_id: Type.String({ maxLength: 64 }),
});

export const ModeratorSchema = Type.Object({
  user_id: UserIdSchema,
  name: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
});
export type Moderator = Static<typeof ModeratorSchema>;
export const ModeratorListSchema = Type.Object({ items: Type.Array(ModeratorSchema) });

/** Longest timeout: a year; for longer, ban until lifted (no duration). */
export const MAX_BAN_SECONDS = 365 * 24 * 3600;

export const BanBody = Type.Object({
  user_id: UserIdSchema,
  duration_seconds: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_BAN_SECONDS, description: 'a timeout; absent: until lifted' }),
  ),
  delete_recent: Type.Optional(
    Type.Boolean({
      description: "also delete the user's comments in your sessions from the last 10 minutes",
    }),
  ),
});
export const BanSchema = Type.Object({
  user_id: UserIdSchema,
  user_name: Type.String(),
  /** null: until lifted. */
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_by: UserIdSchema,
  created_at: Type.String({ format: 'date-time' }),
});
export type Ban = Static<typeof BanSchema>;
export const BanListSchema = Type.Object({ items: Type.Array(BanSchema) });

/** At most this many blocked terms per vendor, each 1–100 characters. */
export const MAX_BLOCKED_TERMS = 500;
export const BlockedTermsBody = Type.Object({
  terms: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: MAX_BLOCKED_TERMS }),
});
export const BlockedTermsSchema = Type.Object({ items: Type.Array(Type.String()) });

/** The schema counts characters too, but generously: the service applies the exact rule after trimming. */
export const PostCommentBody = Type.Object({
  message: Type.String({ minLength: 1, maxLength: MAX_COMMENT_LENGTH * 2 }),
});

export const SessionParams = Type.Object({ session_id: Type.String({ maxLength: 64 }) });

/** The original's `?authorization=Bearer%20…`, for clients that cannot send a header. */
export const AuthQuery = Type.Object({ authorization: Type.Optional(Type.String()) });

export const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  db: Type.Union([Type.Literal('ok'), Type.Literal('down')]),
  db_kind: Type.Union([Type.Literal('postgres'), Type.Literal('pglite')]),
  bus: Type.Union([Type.Literal('memory'), Type.Literal('redis'), Type.Literal('down')]),
  media: MediaHealthSchema,
});
export type Health = Static<typeof HealthSchema>;

export const AppConfigSchema = Type.Object({
  ice_servers: Type.Array(Type.Unknown(), {
    description: 'static ICE servers; signed-in pages get TURN credentials from GET /ice-servers',
  }),
  media: MediaModeSchema,
  turn: Type.Boolean({ description: 'TURN credentials are available from GET /ice-servers' }),
});

/** `{detail: "..."}`: every error except request validation. */
export const ErrorDetail = Type.Object({ detail: Type.String() }, { $id: 'ErrorDetail' });

/** A comment refused because its author is banned: `{detail}` and, additive, until when. */
export const BannedErrorBody = Type.Object({
  detail: Type.String(),
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'when the ban ends; null: until the host lifts it',
  }),
});

/** FastAPI's 422 body. */
export const ValidationErrorBody = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
        msg: Type.String(),
        type: Type.String(),
      }),
    ),
  },
  { $id: 'ValidationError' },
);
