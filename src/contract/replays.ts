/**
 * The replay contract: a recorded session as the API shows it. Sessions published through the
 * media server are recorded (unless turned off) and, once ended, processed into one file that
 * plays in a browser; `timeline` maps the session's wall-clock time onto the file, so a player
 * can show each comment when playback reaches the moment it was posted.
 */
import { Type, type Static } from 'typebox';
import { SessionSchema } from './rest.js';

/**
 * `none`: nothing recorded (mesh mode, recording off, nobody published, or deleted);
 * `recording`: live and being recorded; `processing`: ended, being made into a file;
 * `ready`: playable at `url`; `failed`: processing gave up (`error` says why).
 */
export const ReplayStatusSchema = Type.Union([
  Type.Literal('none'),
  Type.Literal('recording'),
  Type.Literal('processing'),
  Type.Literal('ready'),
  Type.Literal('failed'),
]);
export type ReplayStatus = Static<typeof ReplayStatusSchema>;

/** One stretch of the live the file holds (a publisher that reconnected makes several). */
export const ReplaySegmentSchema = Type.Object({
  at: Type.String({ format: 'date-time', description: 'when this stretch began, in the live' }),
  offset_seconds: Type.Number({ description: 'where it begins in the file' }),
  duration_seconds: Type.Number(),
});
export type ReplaySegment = Static<typeof ReplaySegmentSchema>;

export const ReplaySchema = Type.Object({
  status: ReplayStatusSchema,
  duration_seconds: Type.Union([Type.Number(), Type.Null()]),
  size_bytes: Type.Union([Type.Integer(), Type.Null()]),
  /** The media, served with HTTP Range to whoever may watch the session; null unless ready. */
  url: Type.Union([Type.String(), Type.Null()]),
  content_type: Type.Union([Type.String(), Type.Null()], { description: 'video/webm or video/mp4' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why processing failed' }),
  timeline: Type.Array(ReplaySegmentSchema),
});
export type Replay = Static<typeof ReplaySchema>;

export const ReplayListItemSchema = Type.Object({ session: SessionSchema, replay: ReplaySchema });
export const ReplayPageSchema = Type.Object({
  items: Type.Array(ReplayListItemSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});
export type ReplayPage = Static<typeof ReplayPageSchema>;

/** `GET /live/sessions/{id}/replay/media`: the token may come in the query, for a `<video>` element. */
export const ReplayMediaQuery = Type.Object({
  authorization: Type.Optional(Type.String()),
  token: Type.Optional(Type.String({ description: 'the access token, for a <video> element' })),
});

export const ReplayListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
});
