import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DomainError, notFound } from '../../contract/errors.js';
import { THUMBNAIL_MAX_BYTES, ThumbnailQuery } from '../../contract/media.js';
import { SessionParams } from '../../contract/rest.js';
import type { Sessions } from '../../live/sessions.js';
import { isJpeg } from '../../media/mpjpeg-reader.js';
import type { Thumbnail, Thumbnails } from '../../media/thumbnails.js';
import { callerOf, type RouteAuth } from '../authenticate.js';
import { bearerSecurity, errorResponses, noContent } from '../schemas.js';

export interface ThumbnailRoutesOptions {
  thumbnails: Thumbnails;
  sessions: Sessions;
  auth: RouteAuth;
}

const JPEG = 'image/jpeg';

/** A live session's picture changes every few seconds; an ended one's is its poster for good. */
const LIVE_MAX_AGE_S = 5;
const ENDED_MAX_AGE_S = 86_400;

/**
 * `GET /live/sessions/{id}/thumbnail`: the stream's newest picture, public as the lobby is; `PUT`:
 * the studio's picture of a stream the server does not ingest itself.
 */
export const thumbnailRoutes: FastifyPluginAsync<ThumbnailRoutesOptions> = async (fastify, options) => {
  const { thumbnails, sessions, auth } = options;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.addContentTypeParser(
    JPEG,
    { parseAs: 'buffer', bodyLimit: THUMBNAIL_MAX_BYTES },
    (_request, body, done) => done(null, body),
  );
  app.get(
    '/live/sessions/:session_id/thumbnail',
    {
      schema: {
        tags: ['media'],
        summary: "The stream's newest picture (JPEG, about 480 px wide)",
        description:
          'A frame at most 20 s old while the session is live (RTMP ingest takes one every 5 s, the studio sends one every 10 s), the last one once it ended. `ETag` and `Cache-Control`; `If-None-Match` answers 304. 404 before there is one.',
        params: SessionParams,
        querystring: ThumbnailQuery,
        produces: ['image/jpeg'],
        response: errorResponses(404),
      },
    },
    async (request, reply) => {
      const thumbnail = await thumbnails.get(request.params.session_id);
      if (!thumbnail) throw notFound('This session has no thumbnail (yet)');
      return sendJpeg(reply, thumbnail, request.headers['if-none-match']);
    },
  );

  app.put(
    '/live/sessions/:session_id/thumbnail',
    {
      preHandler: auth.requireVendor,
      schema: {
        tags: ['media'],
        summary: "The studio sends its stream's picture (its vendor only; JPEG, at most 256 KiB)",
        description:
          'For streams the server does not ingest itself (the browser studio, over WHIP or the mesh): the studio sends a frame of its preview every 10 s. 204 whether kept or not: a picture within 2 s of the last one is not kept.',
        security: bearerSecurity,
        params: SessionParams,
        consumes: [JPEG],
        response: { ...noContent, ...errorResponses(401, 403, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!Buffer.isBuffer(body) || !isJpeg(body)) {
        throw new DomainError('unsupported_media_type', 'The body must be a JPEG (Content-Type: image/jpeg)');
      }
      await sessions.requirePublisher(request.params.session_id, callerOf(request).userId);
      await thumbnails.save(request.params.session_id, body);
      return reply.code(204).send(null);
    },
  );
};

/** The picture with its validators, or 304 when the client's copy is current. */
function sendJpeg(reply: FastifyReply, thumbnail: Thumbnail, ifNoneMatch: string | undefined): FastifyReply {
  const etag = `"${thumbnail.takenAt.getTime().toString(36)}"`;
  reply
    .header('etag', etag)
    .header('cache-control', `public, max-age=${thumbnail.live ? LIVE_MAX_AGE_S : ENDED_MAX_AGE_S}`)
    .header('last-modified', thumbnail.takenAt.toUTCString());
  if (ifNoneMatch?.split(',').some((tag) => tag.trim() === etag)) return reply.code(304).send();
  return reply.type('image/jpeg').send(thumbnail.jpeg);
}
