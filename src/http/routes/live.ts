import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  AuthQuery,
  BannedErrorBody,
  CommentListQuery,
  CommentListSchema,
  CommentSchema,
  CreateSessionBody,
  PostCommentBody,
  SessionParams,
  SessionSchema,
} from '../../contract/rest.js';
import { ReactionBody } from '../../contract/reactions.js';
import type { Comments } from '../../live/comments.js';
import type { Reactions } from '../../live/reactions.js';
import type { Sessions } from '../../live/sessions.js';
import { callerOf, type RouteAuth } from '../authenticate.js';
import { bearerSecurity, errorResponses } from '../schemas.js';

export interface LiveRoutesOptions {
  sessions: Sessions;
  comments: Comments;
  reactions: Reactions;
  auth: RouteAuth;
}

/** Live sessions and their comments. */
export const liveRoutes: FastifyPluginAsync<LiveRoutesOptions> = async (
  fastify,
  { sessions, comments, reactions, auth },
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
        querystring: AuthQuery,
        body: CreateSessionBody,
        response: { 200: SessionSchema, ...errorResponses(400, 401, 403, 422) },
      },
    },
    async (request) => {
      return sessions.create(callerOf(request).userId, request.body.title, request.body.record);
    },
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
          querystring: AuthQuery,
          response: { 200: SessionSchema, ...errorResponses(401, 403, 404, 422) },
        },
      },
      async (request) => {
        return sessions.end(request.params.session_id, callerOf(request).userId);
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
        description:
          'With `after=<offset>`, the comments after that offset instead, oldest first. Deleted comments are left out.',
        querystring: CommentListQuery,
        response: { 200: CommentListSchema, ...errorResponses(404, 422) },
      },
    },
    async (request) => {
      const { limit, before, after } = request.query;
      return { items: await comments.list(request.params.session_id, limit, { before, after }) };
    },
  );

  app.post(
    '/live/sessions/:session_id/comments',
    {
      preHandler: auth.requireUser,
      schema: {
        tags: ['comments'],
        summary: 'Post a comment while the session is live',
        security: bearerSecurity,
        params: SessionParams,
        querystring: AuthQuery,
        body: PostCommentBody,
        description:
          'Acknowledged once committed; then broadcast as a `comment` event on /ws/live. Refused: 403 for a banned author (the detail says until when), 429 with Retry-After in slow mode or over the comment budget, 422 for a blocked term.',
        response: { 200: CommentSchema, ...errorResponses(401, 404, 409, 422, 429), 403: BannedErrorBody },
      },
    },
    async (request) => {
      const { userId, name } = callerOf(request);
      return comments.post(request.params.session_id, { id: userId, name }, request.body.message);
    },
  );

  app.post(
    '/live/sessions/:session_id/reactions',
    {
      preHandler: auth.requireUser,
      schema: {
        tags: ['reactions'],
        summary: 'React (a heart, a laugh, …) while the session is live',
        security: bearerSecurity,
        params: SessionParams,
        querystring: AuthQuery,
        body: ReactionBody,
        description:
          'Counted, then shown to every viewer in the next `reactions` event on /ws/live (at most one a second, counts summed over all viewers). Each user counts at most 10 a second; the excess is dropped without an error (reactions are lossy), so the answer is 204 either way.',
        response: { 204: Type.Null({ description: 'taken' }), ...errorResponses(401, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      await reactions.post(request.params.session_id, callerOf(request).userId, request.body.kind);
      return reply.code(204).send(null);
    },
  );
};
