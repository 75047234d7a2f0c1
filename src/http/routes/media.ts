import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Clock } from '../../clock.js';
import type { TurnConfig } from '../../config.js';
import { MediaResourceParams, SDP_TYPE, TRICKLE_TYPE } from '../../contract/media.js';
import { AuthQuery, SessionParams } from '../../contract/rest.js';
import type { UserId } from '../../db/schema.js';
import type { Sessions } from '../../live/sessions.js';
import type { Media } from '../../media/media.js';
import { isStreamKey, type StreamKeys } from '../../media/stream-keys.js';
import { checkSessionDescription } from '../../media/sdp.js';
import { iceServerLinks, mintIceServers } from '../../media/turn-credentials.js';
import { callerOf, publisherOf, type RouteAuth } from '../authenticate.js';
import { acceptSdpBodies, ifMatchOf, resourceHeaders, sendRaw, textBody } from '../sdp-bodies.js';
import { bearerSecurity, errorResponses } from '../schemas.js';

export interface MediaRoutesOptions {
  media: Media;
  sessions: Sessions;
  streamKeys: StreamKeys;
  auth: RouteAuth;
  turn: TurnConfig | undefined;
  staticIceServers: unknown[];
  clock: Clock;
}

const tags = ['media'];
const sdpBody = { consumes: [SDP_TYPE] };
const patchBody = { consumes: [TRICKLE_TYPE, SDP_TYPE] };

/**
 * WHIP ingest (RFC 9725) and WHEP playback over Janus, in SFU mode (503 in mesh mode). Resources
 * live at `/live/sessions/{id}/whip/{resource_id}` and `…/whep/{resource_id}`; the `Location` of
 * each is unguessable and only its owner may PATCH or DELETE it. docs/media.md says what a client
 * sends, step by step.
 */
export const mediaRoutes: FastifyPluginAsync<MediaRoutesOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { media, sessions, streamKeys, auth, turn, staticIceServers, clock } = options;
  acceptSdpBodies(app);

  // Publishing takes a vendor's access token or one of their stream keys; watching, any user's.
  const requirePublisher = auth.requirePublisher(isStreamKey, (key) => streamKeys.authenticate(key));
  const requireUser = auth.requireUser;

  function links(userId: UserId): string[] {
    const servers = mintIceServers({ turn, staticIceServers, userId, now: new Date(clock.now()) });
    return iceServerLinks(servers.ice_servers);
  }

  async function publish(reply: FastifyReply, sessionId: string, userId: UserId, offer: string) {
    const published = await media.sfu().publishers.publish(sessionId, userId, offer);
    resourceHeaders(
      reply,
      `/live/sessions/${sessionId}/whip/${published.resourceId}`,
      published.etag,
      links(userId),
    );
    return sendRaw(reply, 201, { type: SDP_TYPE, text: published.answer });
  }

  app.post(
    '/live/sessions/:session_id/whip',
    {
      bodyLimit: 64 * 1024,
      schema: {
        tags,
        summary: 'WHIP: publish to your live session (SDP offer in, SDP answer out)',
        description:
          'Body: the complete SDP offer (`Content-Type: application/sdp`); bearer: your access token or a stream key. 201 with the answer, `Location` (the resource), `ETag` and ICE servers as `Link` headers. A newer publish replaces the older one.',
        security: bearerSecurity,
        params: SessionParams,
        querystring: AuthQuery,
        ...sdpBody,
        response: errorResponses(400, 401, 403, 404, 409, 415, 503),
      },
      preHandler: requirePublisher,
    },
    async (request, reply) => {
      const { text } = textBody(request, SDP_TYPE);
      const { userId } = publisherOf(request);
      media.sfu();
      await sessions.requirePublisher(request.params.session_id, userId);
      return publish(reply, request.params.session_id, userId, text);
    },
  );

  app.post(
    '/whip',
    {
      bodyLimit: 64 * 1024,
      schema: {
        tags,
        summary: "WHIP for OBS and other encoders: publish to the key owner's live session, or start one",
        description:
          "Bearer: a stream key (POST /me/stream-keys) or a vendor's access token. Publishes to the vendor's live session; when none is live, starts one titled with the key's title (or name). Otherwise as POST /live/sessions/{id}/whip.",
        security: bearerSecurity,
        querystring: AuthQuery,
        ...sdpBody,
        response: errorResponses(400, 401, 403, 415, 503),
      },
      preHandler: requirePublisher,
    },
    async (request, reply) => {
      const { text } = textBody(request, SDP_TYPE);
      const { userId, title } = publisherOf(request);
      media.sfu();
      const sessionId = await sessions.liveOrStart(userId, title ?? 'Live');
      return publish(reply, sessionId, userId, text);
    },
  );

  app.patch(
    '/live/sessions/:session_id/whip/:resource_id',
    {
      bodyLimit: 64 * 1024,
      schema: {
        tags,
        summary: 'WHIP: trickle ICE candidates, or restart ICE (If-Match: *)',
        description:
          '`Content-Type: application/trickle-ice-sdpfrag`. Candidates: 204 (`If-Match` with the ETag, if sent, must match: else 412). New ICE credentials with `If-Match: *` (or `"*"`) restart ICE: 200 with the server\'s fragment and a new `ETag`.',
        security: bearerSecurity,
        params: MediaResourceParams,
        querystring: AuthQuery,
        consumes: [TRICKLE_TYPE],
        response: errorResponses(400, 401, 403, 404, 412, 415, 503),
      },
      preHandler: requirePublisher,
    },
    async (request, reply) => {
      const { text } = textBody(request, TRICKLE_TYPE);
      const { userId } = publisherOf(request);
      const { session_id, resource_id } = request.params;
      const patched = await media
        .sfu()
        .publishers.patch(session_id, resource_id, userId, text, ifMatchOf(request));
      if (!patched.restarted) return sendRaw(reply, 204);
      return sendRaw(reply.header('etag', patched.etag), 200, { type: TRICKLE_TYPE, text: patched.fragment });
    },
  );

  app.delete(
    '/live/sessions/:session_id/whip/:resource_id',
    {
      schema: {
        tags,
        summary: 'WHIP: stop publishing (the session stays live; viewers hear media stopped)',
        security: bearerSecurity,
        params: MediaResourceParams,
        querystring: AuthQuery,
        response: errorResponses(401, 403, 404, 503),
      },
      preHandler: requirePublisher,
    },
    async (request, reply) => {
      const { userId } = publisherOf(request);
      const { session_id, resource_id } = request.params;
      await media.sfu().publishers.stop(session_id, resource_id, userId);
      return sendRaw(reply, 200);
    },
  );

  app.post(
    '/live/sessions/:session_id/whep',
    {
      bodyLimit: 64 * 1024,
      schema: {
        tags,
        summary: "WHEP: watch the session's video (406 counter-offer: Janus makes the offer)",
        description:
          'Body: the player\'s SDP offer (`Content-Type: application/sdp`; only checked, since Janus\'s VideoRoom makes the offer). 406 Not Acceptable with Janus\'s offer as the body (`application/sdp`), `Location`, `ETag` and ICE servers as `Link` headers; PATCH the answer to `Location` (`application/sdp`, 204). 409 while nobody publishes: wait for `{"type":"media","state":"live"}` on /ws/live.',
        security: bearerSecurity,
        params: SessionParams,
        querystring: AuthQuery,
        ...sdpBody,
        response: errorResponses(400, 401, 404, 409, 415, 503),
      },
      preHandler: requireUser,
    },
    async (request, reply) => {
      const { text } = textBody(request, SDP_TYPE);
      const caller = callerOf(request);
      const subscribers = media.sfu().subscribers;
      // The player's offer is only a well-formedness check: Janus offers, the player answers.
      checkSessionDescription(text, 'offer');
      await sessions.requireLive(request.params.session_id);
      const subscribed = await subscribers.subscribe(request.params.session_id, caller.userId);
      resourceHeaders(
        reply,
        `/live/sessions/${request.params.session_id}/whep/${subscribed.resourceId}`,
        subscribed.etag,
        links(caller.userId),
      );
      return sendRaw(reply, 406, { type: SDP_TYPE, text: subscribed.offer });
    },
  );

  app.patch(
    '/live/sessions/:session_id/whep/:resource_id',
    {
      bodyLimit: 64 * 1024,
      schema: {
        tags,
        summary: "WHEP: send the player's SDP answer, or trickle ICE candidates",
        description:
          '`application/sdp`: the answer to the offer POST returned (204). `application/trickle-ice-sdpfrag`: candidates (204); ICE restarts are not supported on WHEP (412): subscribe again.',
        security: bearerSecurity,
        params: MediaResourceParams,
        querystring: AuthQuery,
        ...patchBody,
        response: errorResponses(400, 401, 403, 404, 412, 415, 422, 503),
      },
      preHandler: requireUser,
    },
    async (request, reply) => {
      const { type, text } = textBody(request, SDP_TYPE, TRICKLE_TYPE);
      const caller = callerOf(request);
      const { session_id, resource_id } = request.params;
      const subscribers = media.sfu().subscribers;
      if (type === SDP_TYPE) await subscribers.answer(session_id, resource_id, caller.userId, text);
      else await subscribers.trickle(session_id, resource_id, caller.userId, text, ifMatchOf(request));
      return sendRaw(reply, 204);
    },
  );

  app.delete(
    '/live/sessions/:session_id/whep/:resource_id',
    {
      schema: {
        tags,
        summary: 'WHEP: stop watching',
        security: bearerSecurity,
        params: MediaResourceParams,
        querystring: AuthQuery,
        response: errorResponses(401, 403, 404, 503),
      },
      preHandler: requireUser,
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { session_id, resource_id } = request.params;
      media.sfu().subscribers.stop(session_id, resource_id, caller.userId);
      return sendRaw(reply, 200);
    },
  );
};
