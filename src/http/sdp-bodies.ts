import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../contract/errors.js';
import { MAX_SDP_BYTES, TRICKLE_TYPE } from '../contract/media.js';

/**
 * WHIP and WHEP bodies: SDP (`application/sdp`) and SDP fragments
 * (`application/trickle-ice-sdpfrag`) arrive as text; any other type reaches the route as it
 * parsed (JSON) or as text, and the route refuses it with 415 and words saying what it takes.
 */
export function acceptSdpBodies(app: FastifyInstance): void {
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_SDP_BYTES }, (_request, body, done) =>
    done(null, body),
  );
}

/** The request's media type, lower-case, without parameters. */
function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The body as text when its Content-Type is one of `types`; 415 otherwise. */
export function textBody(request: FastifyRequest, ...types: string[]): { type: string; text: string } {
  const type = mediaType(request);
  if (!types.includes(type) || typeof request.body !== 'string') {
    throw new DomainError(
      'unsupported_media_type',
      `Content-Type must be ${types.join(' or ')} (got ${type || 'none'})`,
    );
  }
  return { type, text: request.body };
}

/** The `If-Match` header, if any. */
export function ifMatchOf(request: FastifyRequest): string | undefined {
  const value = request.headers['if-match'];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Headers of a created WHIP/WHEP resource: where it is, its tag, what PATCH takes, and the ICE
 * servers (with fresh TURN credentials) as `Link` headers (RFC 9725 §4.6).
 */
export function resourceHeaders(
  reply: FastifyReply,
  location: string,
  etag: string,
  links: string[],
): FastifyReply {
  reply.header('location', location).header('etag', etag).header('accept-patch', TRICKLE_TYPE);
  if (links.length) reply.header('link', links);
  return reply;
}

/**
 * Sends a body that is not JSON (an SDP, a fragment) or none. The route's schemas describe only
 * its JSON errors, so the typed reply would insist on those; this reply is the plain one.
 */
export function sendRaw(
  reply: FastifyReply,
  status: number,
  body?: { type: string; text: string },
): FastifyReply {
  reply.code(status);
  return body ? reply.type(body.type).send(body.text) : reply.send();
}
