import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { MySessionsQuery, SessionPageSchema } from '../../contract/rest.js';
import type { Sessions } from '../../live/sessions.js';
import { callerOf, type RouteAuth } from '../authenticate.js';
import { bearerSecurity, errorResponses } from '../schemas.js';

export interface MySessionsRoutesOptions {
  sessions: Sessions;
  auth: RouteAuth;
}

/** `GET /me/sessions`: the calling vendor's past sessions with their stats. */
export const mySessionsRoutes: FastifyPluginAsync<MySessionsRoutesOptions> = async (
  fastify,
  { sessions, auth },
) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/me/sessions',
    {
      preHandler: auth.requireVendor,
      schema: {
        tags: ['live'],
        summary: 'Your ended sessions with their stats, newest first (vendors only)',
        description: 'Paged like /live/sessions/active: pass `next_cursor` back as `cursor`.',
        security: bearerSecurity,
        querystring: MySessionsQuery,
        response: { 200: SessionPageSchema, ...errorResponses(400, 401, 403, 422) },
      },
    },
    async (request) => sessions.listPast(callerOf(request).userId, request.query.limit, request.query.cursor),
  );
};
