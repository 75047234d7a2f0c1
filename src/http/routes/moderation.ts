import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { notFound } from '../../contract/errors.js';
import type { UserId } from '../../contract/ids.js';
import {
  AuthQuery,
  BanBody,
  BanListSchema,
  BanSchema,
  BlockedTermsBody,
  BlockedTermsSchema,
  ChatSettingsBody,
  ChatSettingsSchema,
  CommentParams,
  CommentSchema,
  ModeratorListSchema,
  ModeratorSchema,
  PinBody,
  SessionParams,
  SessionUserParams,
  UserParams,
} from '../../contract/rest.js';
import type { Moderation } from '../../live/moderation.js';
import { actorOf, callerOf, type RouteAuth } from '../authenticate.js';
import { bearerSecurity, errorResponses, noContent } from '../schemas.js';

export interface ModerationRoutesOptions {
  moderation: Moderation;
  auth: RouteAuth;
  /** A user id from a path or body in the database's type; undefined when it cannot be one. */
  userId: (raw: string | number) => UserId | undefined;
}

/**
 * The vendor's control of their chat: moderators and blocked terms (`/me/…`, the vendor's own),
 * and per session deleting comments, bans and timeouts, the pin and slow mode.
 */
export const moderationRoutes: FastifyPluginAsync<ModerationRoutesOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { moderation, auth } = options;
  const user = (raw: string | number): UserId => {
    const id = options.userId(raw);
    if (id === undefined) throw notFound('User not found');
    return id;
  };
  const common = { tags: ['moderation'], security: bearerSecurity, querystring: AuthQuery };

  app.get(
    '/me/moderators',
    {
      preHandler: auth.requireVendor,
      schema: {
        ...common,
        summary: 'Your moderators',
        response: { 200: ModeratorListSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ items: await moderation.listModerators(callerOf(request).userId) }),
  );

  app.put(
    '/me/moderators/:user_id',
    {
      preHandler: auth.requireVendor,
      schema: {
        ...common,
        summary: 'Appoint a moderator of all your sessions',
        params: UserParams,
        response: { 200: ModeratorSchema, ...errorResponses(401, 403, 404, 422, 429) },
      },
    },
    async (request) => moderation.appointModerator(callerOf(request).userId, user(request.params.user_id)),
  );

  app.delete(
    '/me/moderators/:user_id',
    {
      preHandler: auth.requireVendor,
      schema: {
        ...common,
        summary: 'Remove a moderator',
        params: UserParams,
        response: { ...noContent, ...errorResponses(401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await moderation.removeModerator(callerOf(request).userId, user(request.params.user_id));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me/blocked-terms',
    {
      preHandler: auth.requireVendor,
      schema: {
        ...common,
        summary: 'Terms refused in your chats',
        response: { 200: BlockedTermsSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ items: await moderation.blockedTerms(callerOf(request).userId) }),
  );

  app.put(
    '/me/blocked-terms',
    {
      preHandler: auth.requireVendor,
      schema: {
        ...common,
        summary: 'Replace the terms refused in your chats',
        description:
          'Matched as whole words, case-insensitively, after Unicode compatibility normalization, with combining marks and invisible characters removed and look-alike letters of other scripts (Unicode confusables: Cyrillic, Greek, mathematical letters, …) folded to the letters they imitate, so width, invisible and look-alike variants are refused too.',
        body: BlockedTermsBody,
        response: { 200: BlockedTermsSchema, ...errorResponses(401, 403, 422, 429) },
      },
    },
    async (request) => ({
      items: await moderation.setBlockedTerms(callerOf(request).userId, request.body.terms),
    }),
  );

  app.delete(
    '/live/sessions/:session_id/comments/:comment_id',
    {
      preHandler: auth.requireUser,
      schema: {
        ...common,
        summary: 'Delete a comment (its author, the host or a moderator)',
        description: 'Viewers on /ws/live get `comment_deleted`.',
        params: CommentParams,
        response: { ...noContent, ...errorResponses(401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const { session_id, comment_id } = request.params;
      await moderation.deleteComment(session_id, comment_id, actorOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/live/sessions/:session_id/bans',
    {
      preHandler: auth.requireUser,
      schema: {
        ...common,
        summary: "Ban or time out a user from all of the host's sessions (host or moderator)",
        description:
          'Without duration_seconds the ban lasts until lifted. The user keeps watching; their comments are refused. delete_recent also deletes their comments of the last 10 minutes.',
        params: SessionParams,
        body: BanBody,
        response: { 200: BanSchema, ...errorResponses(401, 403, 404, 422, 429) },
      },
    },
    async (request) =>
      moderation.ban(request.params.session_id, actorOf(request), {
        userId: user(request.body.user_id),
        durationSeconds: request.body.duration_seconds,
        deleteRecent: request.body.delete_recent,
      }),
  );

  app.get(
    '/live/sessions/:session_id/bans',
    {
      preHandler: auth.requireUser,
      schema: {
        ...common,
        summary: "The host's bans and timeouts in force (host or moderator)",
        params: SessionParams,
        response: { 200: BanListSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => ({ items: await moderation.listBans(request.params.session_id, actorOf(request)) }),
  );

  app.delete(
    '/live/sessions/:session_id/bans/:user_id',
    {
      preHandler: auth.requireUser,
      schema: {
        ...common,
        summary: 'Lift a ban or timeout (host or moderator)',
        params: SessionUserParams,
        response: { ...noContent, ...errorResponses(401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const { session_id, user_id } = request.params;
      await moderation.liftBan(session_id, actorOf(request), user(user_id));
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/live/sessions/:session_id/pin',
    {
      preHandler: auth.requireUser,
      schema: {
        ...common,
        summary: 'Pin a comment (host or moderator)',
        description: 'Viewers on /ws/live get `comment_pinned`; `session_info` carries the pin.',
        params: SessionParams,
        body: PinBody,
        response: { 200: CommentSchema, ...errorResponses(401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) => moderation.pin(request.params.session_id, actorOf(request), request.body.comment_id),
  );

  app.delete(
    '/live/sessions/:session_id/pin',
    {
      preHandler: auth.requireUser,
      schema: {
        ...common,
        summary: 'Unpin (host or moderator)',
        params: SessionParams,
        response: { ...noContent, ...errorResponses(401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await moderation.unpin(request.params.session_id, actorOf(request));
      return reply.code(204).send(null);
    },
  );

  app.patch(
    '/live/sessions/:session_id/chat',
    {
      preHandler: auth.requireUser,
      schema: {
        ...common,
        summary: 'Chat settings: slow mode (host or moderator)',
        description: 'Viewers on /ws/live get `chat_settings`.',
        params: SessionParams,
        body: ChatSettingsBody,
        response: { 200: ChatSettingsSchema, ...errorResponses(401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) =>
      moderation.setSlowMode(request.params.session_id, actorOf(request), request.body.slow_mode_seconds),
  );
};

/** The signed-in caller as the moderation service sees them. */
