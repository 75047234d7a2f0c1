import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Clock } from '../../clock.js';
import type { TurnConfig } from '../../config.js';
import { IceServersSchema } from '../../contract/media.js';
import { AuthQuery } from '../../contract/rest.js';
import { mintIceServers } from '../../media/turn-credentials.js';
import { callerOf, type RouteAuth } from '../authenticate.js';
import { bearerSecurity, errorResponses } from '../schemas.js';

export interface IceServerRoutesOptions {
  /** TURN servers to mint credentials for (TURN_URLS, TURN_SECRET); undefined: none. */
  turn: TurnConfig | undefined;
  /** ICE_SERVERS, handed out as they are. */
  staticIceServers: unknown[];
  clock: Clock;
  auth: RouteAuth;
}

/** `GET /ice-servers`: the ICE servers with TURN credentials minted for the caller. */
export const iceServerRoutes: FastifyPluginAsync<IceServerRoutesOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { turn, staticIceServers, clock, auth } = options;

  app.get(
    '/ice-servers',
    {
      preHandler: auth.requireUser,
      schema: {
        tags: ['media'],
        summary: 'ICE servers for RTCPeerConnection, with fresh TURN credentials (signed in)',
        description:
          'The static ICE_SERVERS plus, when TURN is configured, TURN credentials for the caller that work until `expires_at`. Never cached.',
        security: bearerSecurity,
        querystring: AuthQuery,
        response: { 200: IceServersSchema, ...errorResponses(401) },
      },
    },
    async (request, reply) => {
      const servers = mintIceServers({
        turn,
        staticIceServers,
        userId: callerOf(request).userId,
        now: new Date(clock.now()),
      });
      void reply.header('cache-control', 'no-store');
      return servers;
    },
  );
};
