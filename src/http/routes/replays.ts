import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ReplayListQuery, ReplayMediaQuery, ReplayPageSchema, ReplaySchema } from '../../contract/replays.js';
import { AuthQuery, SessionParams } from '../../contract/rest.js';
import type { Replays } from '../../replays/replays.js';
import { callerOf, type RouteAuth } from '../authenticate.js';
import { bearerSecurity, errorResponses, noContent } from '../schemas.js';

export interface ReplayRoutesOptions {
  replays: Replays;
  auth: RouteAuth;
}

/** What a `Range` header asks of a file of `size` bytes. */
export type RangeRequest =
  /** No usable Range (absent, not `bytes=`, several ranges, malformed): the whole file, 200. */
  | { kind: 'full' }
  /** One satisfiable range, inclusive: 206. */
  | { kind: 'partial'; start: number; end: number }
  /** Nothing of the file is in the range: 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' };

/**
 * RFC 9110 §14: one range `bytes=a-b`, `bytes=a-` or `bytes=-n` of a file of `size` bytes. An
 * end beyond the file is cut to its last byte, and a suffix longer than the file is the whole
 * file; a header that is not one such range is ignored (the whole file), as the RFC allows.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'full' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.MAX_SAFE_INTEGER : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
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
      const range = parseRange(request.headers.range, media.size);
      reply
        .header('accept-ranges', 'bytes')
        .header('content-type', media.contentType)
        .header('cache-control', 'private, max-age=3600');
      if (range.kind === 'unsatisfiable') {
        return reply
          .code(416)
          .header('content-range', `bytes */${media.size}`)
          .header('cache-control', 'private, no-store')
          .type('application/json')
          .send({ detail: 'Range not satisfiable' });
      }
      if (range.kind === 'full') {
        return reply
          .header('content-length', media.size)
          .send((await replays.storage.open(media.key)) as never);
      }
      return reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${media.size}`)
        .header('content-length', range.end - range.start + 1)
        .send((await replays.storage.open(media.key, range)) as never);
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
