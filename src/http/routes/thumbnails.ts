import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { notFound } from '../../contract/errors.js';
import { ThumbnailQuery } from '../../contract/media.js';
import { SessionParams } from '../../contract/rest.js';
import type { Thumbnail, Thumbnails } from '../../media/thumbnails.js';
import { errorResponses } from '../schemas.js';

export interface ThumbnailRoutesOptions {
  thumbnails: Thumbnails;
}

/** A live session's picture changes every few seconds; an ended one's is its poster for good. */
const LIVE_MAX_AGE_S = 5;
const ENDED_MAX_AGE_S = 86_400;

/** `GET /live/sessions/{id}/thumbnail`: the stream's newest picture, public as the lobby is. */
export const thumbnailRoutes: FastifyPluginAsync<ThumbnailRoutesOptions> = async (
  fastify,
  { thumbnails },
) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/live/sessions/:session_id/thumbnail',
    {
      schema: {
        tags: ['media'],
        summary: "The stream's newest picture (JPEG, about 480 px wide)",
        description:
          'A frame at most 20 s old while the session is live (RTMP ingest takes one every 10 s), the last one once it ended. `ETag` and `Cache-Control`; `If-None-Match` answers 304. 404 before there is one.',
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
