import { ChatStateSchema, CommentSchema, SessionSchema } from '../../src/contract/rest.js';

/** The fields of the original service's objects (its README): the contract may add, never drop. */
export const ORIGINAL_SESSION_FIELDS = [
  'ended_at',
  'is_live',
  'live_duration_seconds',
  'session_id',
  'started_at',
  'title',
  'vendor',
  'viewer_count',
  'views_total',
];
export const ORIGINAL_COMMENT_FIELDS = ['id', 'message', 'session_id', 'ts', 'user_id', 'user_name'];

/** The fields src/contract/rest.ts defines, sorted: what every surface (REST, WebSocket, OpenAPI) carries. */
export const SESSION_FIELDS = Object.keys(SessionSchema.properties).sort();
export const COMMENT_FIELDS = Object.keys(CommentSchema.properties).sort();
/** What `session_info` adds to the session: the chat's pin, slow mode and offset. */
export const CHAT_STATE_FIELDS = Object.keys(ChatStateSchema.properties).sort();

/** `/health`'s `media` without Janus: mesh mode, no media servers. */
export const MESH = { mode: 'mesh', servers: [] } as const;
