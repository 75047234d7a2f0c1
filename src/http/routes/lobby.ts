import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LobbyQuery, NotModifiedSchema, SessionPageSchema } from '../../contract/rest.js';
import type { Sessions } from '../../live/sessions.js';
import { etagOf, type LobbySnapshot } from '../lobby-snapshot.js';
import { errorResponses } from '../schemas.js';

export interface LobbyRoutesOptions {
  sessions: Sessions;
  /** The shared snapshot; undefined (LOBBY_SNAPSHOT_MS=0): every request reads the database. */
  snapshot: LobbySnapshot | undefined;
}

/**
 * `GET /live/sessions/active`, the route every lobby polls. Answered from the shared snapshot
 * with an `ETag`; a request whose `If-None-Match` names it gets 304 with no body and no database
 * query (the tag is the snapshot's, computed once per page). Only a page is tagged: an error
 * (a bad limit or cursor) has no ETag and is never answered 304.
 */
export const lobbyRoutes: FastifyPluginAsync<LobbyRoutesOptions> = async (
  fastify,
  { sessions, snapshot },
) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/live/sessions/active',
    {
      schema: {
        tags: ['live'],
        summary: 'Live sessions, newest first',
        description:
          'Served from a snapshot at most 1 s old (renewed at once when a session starts or ends), with an ETag: send it back as If-None-Match to get 304 when nothing changed.',
        querystring: LobbyQuery,
        response: {
          200: SessionPageSchema,
          304: NotModifiedSchema,
          ...errorResponses(400, 422),
        },
      },
    },
    async (request, reply) => {
      const { limit, cursor } = request.query;
      const ifNoneMatch = request.headers['if-none-match'];
      const raw = (reply as FastifyReply).header('cache-control', 'no-cache');
      if (!snapshot) {
        const read = await sessions.listActive(limit, cursor);
        const tag = etagOf(read);
        raw.header('etag', tag);
        return namesTag(ifNoneMatch, tag) ? raw.code(304).send() : read;
      }
      const page = await snapshot.get(limit, cursor, (read) => reply.serialize(read) as string);
      raw.header('etag', page.etag);
      if (namesTag(ifNoneMatch, page.etag)) return raw.code(304).send();
      // The body is already JSON of the 200 schema: sent as it is, not serialized again.
      return raw.type('application/json; charset=utf-8').send(page.body);
    },
  );
};

/** Whether an If-None-Match header names `etag` (RFC 9110's weak comparison; `*` names any). */
export function namesTag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}
