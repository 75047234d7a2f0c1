import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ReplayListQuery, ReplayMediaQuery, ReplayPageSchema, ReplaySchema } from '../../contract/replays.js';
import { AuthQuery, SessionParams } from '../../contract/rest.js';
import type { Replays } from '../../replays/replays.js';
import { callerOf, type RouteAuth } from '../authenticate.js';
import { sendReplayFile } from '../replay-file.js';
import { bearerSecurity, errorResponses, noContent } from '../schemas.js';

export interface ReplayRoutesOptions {
  replays: Replays;
  auth: RouteAuth;
}

/**
 * Replays: a session's replay, its media (HTTP Range, for any signed-in user), deleting it (its
 * vendor), and the list of ready replays.
 */
export const replayRoutes: FastifyPluginAsync<ReplayRoutesOptions> = async (fastify, { replays, auth }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  // A static segment: Fastify's router prefers it to /live/sessions/:session_id.
  app.get(
    '/live/sessions/replays',
    {
      schema: {
        tags: ['replays'],
        summary: 'Ready replays, newest first',
        description: 'Paged like /live/sessions/active: pass `next_cursor` back as `cursor`.',
        querystring: ReplayListQuery,
        response: { 200: ReplayPageSchema, ...errorResponses(400, 422) },
      },
    },
    async (request) => replays.list(request.query.limit, request.query.cursor),
  );

  app.get(
    '/live/sessions/:session_id/replay',
    {
      schema: {
        tags: ['replays'],
        summary: "A session's replay: its status and, once ready, where to play it",
        params: SessionParams,
        response: { 200: ReplaySchema, ...errorResponses(404, 422) },
      },
    },
    async (request) => replays.get(request.params.session_id),
  );

  app.get(
    '/live/sessions/:session_id/replay/media',
    {
      preHandler: auth.requireUser,
      schema: {
        tags: ['replays'],
        summary: 'The replay file (signed-in users; HTTP Range)',
        description:
          'The token may come as `?token=` (or `?authorization=Bearer …`), since a <video> element sends no header. 206 for `Range: bytes=…`, 416 beyond the end.',
        security: bearerSecurity,
        params: SessionParams,
        querystring: ReplayMediaQuery,
        response: errorResponses(401, 404, 416, 422),
      },
    },
    async (request, reply) => {
      const media = await replays.media(request.params.session_id);
      const path = replays.storage.path(media.key);
      return sendReplayFile(request, reply, { path, size: media.size, contentType: media.contentType });
    },
  );

  app.delete(
    '/live/sessions/:session_id/replay',
    {
      preHandler: auth.requireVendor,
      schema: {
        tags: ['replays'],
        summary: "Delete a session's replay (its vendor only)",
        security: bearerSecurity,
        params: SessionParams,
        querystring: AuthQuery,
        response: { ...noContent, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      await replays.delete(request.params.session_id, callerOf(request).userId);
      return reply.code(204).send(null);
    },
  );
};
