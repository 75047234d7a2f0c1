import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import etag from '@fastify/etag';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { SessionPageSchema } from '../../contract/rest.js';
import type { Sessions } from '../../live/sessions.js';
import type { LobbySnapshot } from '../lobby-snapshot.js';
import { errorResponses } from '../schemas.js';

export interface LobbyRoutesOptions {
  sessions: Sessions;
  /** The shared snapshot; undefined (LOBBY_SNAPSHOT_MS=0): every request reads the database. */
  snapshot: LobbySnapshot | undefined;
}

/**
 * `GET /live/sessions/active`, the route every lobby polls. Answered from the shared snapshot
 * with an `ETag`; a request whose `If-None-Match` names it gets 304 with no body and no database
 * query (@fastify/etag compares; the tag is the snapshot's, computed once per page).
 */
export const lobbyRoutes: FastifyPluginAsync<LobbyRoutesOptions> = async (
  fastify,
  { sessions, snapshot },
) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  await app.register(etag);
  app.get(
    '/live/sessions/active',
    {
      schema: {
        tags: ['live'],
        summary: 'Live sessions, newest first',
        description:
          'Served from a snapshot at most 1 s old (renewed at once when a session starts or ends), with an ETag: send it back as If-None-Match to get 304 when nothing changed.',
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          cursor: Type.Optional(
            Type.String({ maxLength: 200, description: 'next_cursor of the previous page' }),
          ),
        }),
        response: {
          200: SessionPageSchema,
          304: Type.Null({ description: 'not modified: the page named by If-None-Match is current' }),
          ...errorResponses(400, 422),
        },
      },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query;
      if (!snapshot) return sessions.listActive(limit, cursor);
      const page = await snapshot.get(limit, cursor, (read) => reply.serialize(read) as string);
      // The body is already JSON of the 200 schema: sent as it is, not serialized again.
      const raw = reply as FastifyReply;
      return raw
        .header('etag', page.etag)
        .header('cache-control', 'no-cache')
        .type('application/json; charset=utf-8')
        .send(page.body);
    },
  );
};
