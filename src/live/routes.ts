import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../http/authenticate.js';
import { unauthorized } from '../http/errors.js';
import { bearerSecurity, errorResponses, UserIdSchema } from '../http/schemas.js';
import { MAX_COMMENT_LENGTH, type Comments } from './comments.js';
import type { Sessions } from './sessions.js';

const SessionSchema = Type.Object({
  session_id: Type.String({ format: 'uuid' }),
  title: Type.String(),
  vendor: Type.Object({ id: UserIdSchema, name: Type.String() }),
  is_live: Type.Boolean(),
  started_at: Type.String({ format: 'date-time' }),
  ended_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  viewer_count: Type.Integer({ description: 'viewer connections now, across all instances' }),
  views_total: Type.Integer({ description: 'unique non-vendor users who ever joined' }),
  live_duration_seconds: Type.Integer({ description: 'whole seconds; while live, now minus start' }),
});

const CommentSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  session_id: Type.String({ format: 'uuid' }),
  user_id: UserIdSchema,
  user_name: Type.String(),
  message: Type.String(),
  ts: Type.String({ format: 'date-time' }),
});

const SessionParams = Type.Object({ session_id: Type.String({ maxLength: 64 }) });
const AuthQuery = { authorization: Type.Optional(Type.String()) };

export interface LiveRoutesOptions {
  sessions: Sessions;
  comments: Comments;
  auth: Authenticator;
}

/** Live sessions and their comments. */
export const liveRoutes: FastifyPluginAsync<LiveRoutesOptions> = async (
  fastify,
  { sessions, comments, auth },
) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/live/sessions',
    {
      preHandler: auth.requireVendor,
      schema: {
        tags: ['live'],
        summary: 'Go live: create a session (vendors only)',
        security: bearerSecurity,
        querystring: Type.Object(AuthQuery),
        body: Type.Object({ title: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: SessionSchema, ...errorResponses(400, 401, 403, 422) },
      },
    },
    async (request) => {
      if (!request.caller) throw unauthorized();
      return sessions.create(request.caller.userId, request.body.title);
    },
  );

  app.get(
    '/live/sessions/active',
    {
      schema: {
        tags: ['live'],
        summary: 'Live sessions, newest first',
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          cursor: Type.Optional(
            Type.String({ maxLength: 200, description: 'next_cursor of the previous page' }),
          ),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(SessionSchema),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 422),
        },
      },
    },
    async (request) => sessions.listActive(request.query.limit, request.query.cursor),
  );

  app.get(
    '/live/sessions/:session_id',
    {
      schema: {
        tags: ['live'],
        summary: 'One session, live or ended',
        params: SessionParams,
        response: { 200: SessionSchema, ...errorResponses(404, 422) },
      },
    },
    async (request) => sessions.get(request.params.session_id),
  );

  // FastAPI ignored the body of a route that takes none, so clients that send
  // `Content-Type: application/json` (and maybe no body) with every POST must still be able to end
  // a session. A scope of its own keeps that leniency away from the routes that do read a body.
  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.removeContentTypeParser('application/json');
    // Read as a string (so the body limit still applies), then dropped.
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, _body, done) =>
      done(null, undefined),
    );

    scope.post(
      '/live/sessions/:session_id/end',
      {
        preHandler: auth.requireVendor,
        schema: {
          tags: ['live'],
          summary: 'End a session (its vendor only; idempotent)',
          description: 'Peers on /ws/live get `session_ended`, then their sockets close with 1000.',
          security: bearerSecurity,
          params: SessionParams,
          querystring: Type.Object(AuthQuery),
          response: { 200: SessionSchema, ...errorResponses(401, 403, 404, 422) },
        },
      },
      async (request) => {
        if (!request.caller) throw unauthorized();
        return sessions.end(request.params.session_id, request.caller.userId);
      },
    );
  });

  app.get(
    '/live/sessions/:session_id/comments',
    {
      schema: {
        tags: ['comments'],
        summary: 'Recent comments, oldest first',
        params: SessionParams,
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          before: Type.Optional(
            Type.String({ maxLength: 64, description: 'a comment id: page back from it' }),
          ),
        }),
        response: { 200: Type.Object({ items: Type.Array(CommentSchema) }), ...errorResponses(404, 422) },
      },
    },
    async (request) => ({
      items: await comments.list(request.params.session_id, request.query.limit, request.query.before),
    }),
  );

  app.post(
    '/live/sessions/:session_id/comments',
    {
      preHandler: auth.requireUser,
      schema: {
        tags: ['comments'],
        summary: 'Post a comment while the session is live',
        description: 'Acknowledged once committed; then broadcast as a `comment` event on /ws/live.',
        security: bearerSecurity,
        params: SessionParams,
        querystring: Type.Object(AuthQuery),
        body: Type.Object({ message: Type.String({ minLength: 1, maxLength: MAX_COMMENT_LENGTH * 2 }) }),
        response: { 200: CommentSchema, ...errorResponses(401, 404, 409, 422) },
      },
    },
    async (request) => {
      if (!request.caller) throw unauthorized();
      const { userId, name } = request.caller;
      return comments.post(request.params.session_id, { id: userId, name }, request.body.message);
    },
  );
};
