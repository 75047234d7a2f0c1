import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  CreatedStreamKeySchema,
  CreateStreamKeyBody,
  StreamKeyListSchema,
  StreamKeyParams,
} from '../../contract/media.js';
import { AuthQuery } from '../../contract/rest.js';
import type { StreamKeys } from '../../media/stream-keys.js';
import { callerOf, type RouteAuth } from '../authenticate.js';
import { bearerSecurity, errorResponses, noContent } from '../schemas.js';

export interface StreamKeyRoutesOptions {
  streamKeys: StreamKeys;
  auth: RouteAuth;
}

/** `/me/stream-keys`: the calling vendor's keys for WHIP clients (OBS, GStreamer). */
export const streamKeyRoutes: FastifyPluginAsync<StreamKeyRoutesOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { streamKeys, auth } = options;
  const common = { tags: ['media'], security: bearerSecurity, querystring: AuthQuery };

  app.get(
    '/me/stream-keys',
    {
      preHandler: auth.requireVendor,
      schema: {
        ...common,
        summary: 'Your stream keys, newest first (vendors only)',
        description:
          'Revoked keys are not listed, and a key itself is never shown again after it was created.',
        response: { 200: StreamKeyListSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => streamKeys.list(callerOf(request).userId),
  );

  app.post(
    '/me/stream-keys',
    {
      preHandler: auth.requireVendor,
      schema: {
        ...common,
        summary: 'Create a stream key (vendors only): the answer is the one time the key is shown',
        description: `At most 20 keys at once; revoke one to make room. Use the key as the bearer token of a WHIP client.`,
        body: CreateStreamKeyBody,
        response: { 201: CreatedStreamKeySchema, ...errorResponses(401, 403, 422) },
      },
    },
    async (request, reply) => {
      const created = await streamKeys.create(callerOf(request).userId, request.body);
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/me/stream-keys/:key_id',
    {
      preHandler: auth.requireVendor,
      schema: {
        ...common,
        summary: 'Revoke a stream key: it publishes no more',
        params: StreamKeyParams,
        response: { ...noContent, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await streamKeys.revoke(callerOf(request).userId, request.params.key_id);
      return reply.code(204).send(null);
    },
  );
};
