import send from '@fastify/send';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../contract/errors.js';

/**
 * Answers a request for a replay's file with `@fastify/send`: the whole file (200), one `Range`
 * (206, `Content-Range`), beyond the end (416 `{detail}` with `Content-Range: bytes *\/size`),
 * `If-Range`, and `ETag`/`Last-Modified` for conditional requests (304). A malformed Range is
 * refused with 416 too (RFC 9110 §14.2 lets a server reject it). A replay file never changes
 * under its key, so players may keep it for an hour.
 */
export async function sendReplayFile(
  request: FastifyRequest,
  reply: FastifyReply,
  file: { path: string; size: number; contentType: string },
): Promise<FastifyReply> {
  // RFC 9110 §14.1.3: a suffix longer than the file is the whole file; range-parser (under
  // send) calls it unsatisfiable, so it is asked as the whole file from byte 0.
  const suffix = /^\s*bytes=-(\d+)\s*$/i.exec(request.headers.range ?? '');
  if (suffix && file.size > 0 && Number(suffix[1]) >= file.size) request.raw.headers.range = 'bytes=0-';
  const served = await send(request.raw, file.path, {
    acceptRanges: true,
    cacheControl: false,
    dotfiles: 'allow',
    index: false,
  });
  if (served.type !== 'file') {
    served.stream.destroy();
    if (served.statusCode === 416) {
      return reply
        .code(416)
        .header('content-range', served.headers['Content-Range'])
        .header('cache-control', 'private, no-store')
        .type('application/json')
        .send({ detail: 'Range not satisfiable' });
    }
    // Deleted between the lookup and the read.
    if (served.type === 'directory' || served.statusCode === 404) throw notFound('Replay not found');
    throw served.metadata.error;
  }
  return reply
    .code(served.statusCode)
    .headers(served.headers)
    .header('content-type', file.contentType)
    .header('cache-control', 'private, max-age=3600')
    .send(served.stream);
}
