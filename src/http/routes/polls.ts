import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreatePollBody, PollListSchema, PollParams, PollSchema, VoteBody } from '../../contract/polls.js';
import { AuthQuery, BannedErrorBody, SessionParams } from '../../contract/rest.js';
import type { Polls } from '../../live/polls.js';
import { actorOf, callerOf, type RouteAuth } from '../authenticate.js';
import { bearerSecurity, errorResponses, noContent } from '../schemas.js';

export interface PollRoutesOptions {
  polls: Polls;
  auth: RouteAuth;
}

/** A session's polls: the host opens and closes them, viewers vote, anyone reads the results. */
export const pollRoutes: FastifyPluginAsync<PollRoutesOptions> = async (fastify, { polls, auth }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const signedIn = { tags: ['polls'], security: bearerSecurity, querystring: AuthQuery };

  app.post(
    '/live/sessions/:session_id/polls',
    {
      preHandler: auth.requireUser,
      schema: {
        ...signedIn,
        summary: 'Open a poll (the host or a moderator; one open at a time)',
        description:
          'Viewers hear `{"type":"poll"}` on /ws/live (a chat event with its offset), then fresh tallies at most once a second while votes arrive, and the closing at `ends_at` or on DELETE. 409 while another poll is open or once the session ended; blocked terms apply to the question and the options (422 `blocked_term`).',
        params: SessionParams,
        body: CreatePollBody,
        response: { 200: PollSchema, ...errorResponses(401, 403, 404, 409, 422) },
      },
    },
    async (request) => polls.open(request.params.session_id, actorOf(request), request.body),
  );

  app.get(
    '/live/sessions/:session_id/polls',
    {
      schema: {
        tags: ['polls'],
        summary: "A session's polls with their results, newest first (at most 100)",
        params: SessionParams,
        response: { 200: PollListSchema, ...errorResponses(404, 422) },
      },
    },
    async (request) => ({ items: await polls.list(request.params.session_id) }),
  );

  app.post(
    '/live/sessions/:session_id/polls/:poll_id/votes',
    {
      preHandler: auth.requireUser,
      schema: {
        ...signedIn,
        summary: 'Vote (a later vote replaces your earlier one)',
        params: PollParams,
        body: VoteBody,
        response: {
          ...noContent,
          ...errorResponses(401, 404, 409, 422),
          403: BannedErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { session_id, poll_id } = request.params;
      await polls.vote(session_id, poll_id, callerOf(request).userId, request.body.option);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/live/sessions/:session_id/polls/:poll_id',
    {
      preHandler: auth.requireUser,
      schema: {
        ...signedIn,
        summary: 'Close a poll now (the host or a moderator); answers it with its final counts',
        params: PollParams,
        response: { 200: PollSchema, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request) => polls.close(request.params.session_id, request.params.poll_id, actorOf(request)),
  );
};
