/**
 * The media contract: what crosses the wire for video through the media server (Janus over WHIP
 * and WHEP), stream keys, and ICE/TURN servers. Imported by the routes, the web client and the
 * tests; the OpenAPI document is generated from these schemas.
 */
import { Type, type Static } from 'typebox';

/** `mesh`: video goes browser to browser over `/ws/signal`; `sfu`: through Janus (WHIP/WHEP). */
export const MediaModeSchema = Type.Union([Type.Literal('mesh'), Type.Literal('sfu')]);
export type MediaMode = Static<typeof MediaModeSchema>;

/**
 * A session's video as viewers hear it on `/ws/live` (`{type:"media", state}`): `live` (play,
 * or subscribe again), `reconnecting` (the vendor's stream went away without stopping: keep
 * waiting), `stopped` (the vendor stopped publishing; the session may still be live).
 */
export const MediaStateSchema = Type.Union([
  Type.Literal('live'),
  Type.Literal('reconnecting'),
  Type.Literal('stopped'),
]);
export type MediaState = Static<typeof MediaStateSchema>;

/** An RTCIceServer as browsers take it. */
export const IceServerSchema = Type.Object(
  {
    urls: Type.Union([Type.String(), Type.Array(Type.String())]),
    username: Type.Optional(Type.String()),
    credential: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type IceServer = Static<typeof IceServerSchema>;

/** `GET /ice-servers`: the static ICE servers plus fresh TURN credentials for the caller. */
export const IceServersSchema = Type.Object({
  ice_servers: Type.Array(IceServerSchema),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'when the TURN credentials stop working; null when none were minted (no TURN_SECRET)',
  }),
});
export type IceServers = Static<typeof IceServersSchema>;

export const CreateStreamKeyBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'what the key is for, e.g. "OBS at home"' }),
  title: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'title of the session a publish with this key starts when none is live; default: the name',
    }),
  ),
});

const streamKeyFields = {
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  title: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
};

/** A stream key as listed: never the key itself (only its hash is stored). */
export const StreamKeySchema = Type.Object(streamKeyFields);
export type StreamKey = Static<typeof StreamKeySchema>;

/** A stream key as created: the one time the key is shown. */
export const CreatedStreamKeySchema = Type.Object({
  ...streamKeyFields,
  key: Type.String({ description: 'the bearer token for WHIP clients (OBS, GStreamer); shown only now' }),
});
export type CreatedStreamKey = Static<typeof CreatedStreamKeySchema>;

export const StreamKeyListSchema = Type.Object({ items: Type.Array(StreamKeySchema) });
export const StreamKeyParams = Type.Object({ key_id: Type.String({ maxLength: 64 }) });

/** Every stream key starts with this, so a key is recognizable (and never mistaken for a JWT). */
export const STREAM_KEY_PREFIX = 'smk_';

/** One Janus server as `/health` reports it. */
export const MediaServerHealthSchema = Type.Object({
  name: Type.String({ description: 'host:port of its WebSocket API' }),
  reachable: Type.Boolean(),
  rooms: Type.Integer({ description: 'live sessions placed on it' }),
});

/** `/health`'s `media` (additive). */
export const MediaHealthSchema = Type.Object({
  mode: MediaModeSchema,
  servers: Type.Array(MediaServerHealthSchema),
});
export type MediaHealth = Static<typeof MediaHealthSchema>;

/** WHIP/WHEP resource addresses: `…/whip/{resource_id}`, `…/whep/{resource_id}`. */
export const MediaResourceParams = Type.Object({
  session_id: Type.String({ maxLength: 64 }),
  resource_id: Type.String({ maxLength: 64 }),
});

export const SDP_TYPE = 'application/sdp';
export const TRICKLE_TYPE = 'application/trickle-ice-sdpfrag';
/** The largest SDP or SDP fragment body accepted. */
export const MAX_SDP_BYTES = 64 * 1024;

/** The browser studio sends a picture of its stream this often. */
export const THUMBNAIL_EVERY_S = 10;
/** Thumbnails' width in pixels (the height keeps the aspect ratio). */
export const THUMBNAIL_WIDTH = 480;
/** The largest picture `PUT /live/sessions/{id}/thumbnail` takes. */
export const THUMBNAIL_MAX_BYTES = 256 * 1024;

/** `GET /live/sessions/{id}/thumbnail`: `v` only makes each picture its own URL for caches. */
export const ThumbnailQuery = Type.Object({
  v: Type.Optional(Type.String({ maxLength: 32, description: 'the version `thumbnail_url` names' })),
});
