import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
} from 'fastify';
import { DATABASE_DOWN_DETAIL, DOMAIN_ERRORS, DomainError } from '../contract/errors.js';
import { isDatabaseDown } from '../db/errors.js';

/** Sends a domain error as the original service did: `{detail}`, or FastAPI's 422 list. */
function sendDomainError(error: DomainError, reply: FastifyReply): FastifyReply {
  const status = DOMAIN_ERRORS[error.code].status;
  const { field, type, retryAfterMs, until } = error.extra;
  if (error.code === 'invalid' || error.code === 'blocked_term') {
    return reply.code(status).send({
      detail: [
        {
          loc: field ?? ['body'],
          msg: error.detail,
          type: type ?? (error.code === 'blocked_term' ? 'blocked_term' : 'value_error'),
        },
      ],
    });
  }
  if (error.code === 'unauthorized') reply.header('www-authenticate', 'Bearer');
  if (retryAfterMs !== undefined)
    reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  // A ban says until when in a field of its own too, as the WebSocket's `banned` event does.
  return reply
    .code(status)
    .send(until !== undefined ? { detail: error.detail, until } : { detail: error.detail });
}

/** One entry of a FastAPI 422 body. */
interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

const LOCATION: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

/**
 * Errors Fastify raises before routing (a path with a broken %-escape, …), which never reach
 * the error handler: answered in the same `{detail}` shape as everything else.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  reply
    .code(error.statusCode && error.statusCode < 500 ? error.statusCode : 400)
    .send({ detail: error.message });
}

/** The parts of a Node HTTP parse error we read (its `rawPacket`, the raw request, is never logged). */
interface ClientError extends Error {
  code?: string;
  reason?: string;
}

/** The status and the words for a request Node's HTTP parser refused, by the parser's error code. */
function clientErrorAnswer(error: ClientError): { status: number; detail: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        detail: `Request headers are too large (at most ${Math.floor(maxHeaderSize / 1024)} KiB in all)`,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, detail: 'Chunk extensions are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, detail: 'The request took too long to arrive' };
    default:
      // llhttp's reasons are fixed phrases ("Invalid method encountered"), never the client's bytes.
      return { status: 400, detail: `Malformed HTTP request${error.reason ? `: ${error.reason}` : ''}` };
  }
}

/** How long a refused connection may go on sending (the rest of a huge header) before it is cut. */
const REFUSED_LINGER_MS = 2_000;

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers over 16 KiB, both
 * Content-Length and Transfer-Encoding, a malformed request line, header or chunk, a request
 * too slow to arrive) get `{detail}` with the right status and `Connection: close`, like every
 * other error; Fastify's default answers `{"error","message","statusCode"}`.
 *
 * The answer is written only when no response has started on the connection (as Node does):
 * bytes in the middle of another response would corrupt it. The socket is then ended, not
 * destroyed: what the client is still sending is read and dropped until it closes (or
 * REFUSED_LINGER_MS pass), since closing with unread input sends a TCP reset that can make the
 * client lose the answer before reading it.
 */
export function clientErrorHandler(this: FastifyInstance, error: ClientError, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  const { status, detail } = clientErrorAnswer(error);
  this.log.debug({ err: error, status }, 'malformed request refused');
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  socket.end(rawDetailResponse(status, detail));
  const linger = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

/** A whole HTTP/1.1 response `{detail}` that closes the connection, for code below Fastify. */
function rawDetailResponse(status: number, detail: string, headers: Record<string, string> = {}): string {
  const body = JSON.stringify({ detail });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Content-Type-Options: nosniff\r\nConnection: close\r\n${extra.join('')}\r\n${body}`
  );
}

/**
 * A `wsClientError` listener for the WebSocket server: upgrade requests ws refuses (a missing or
 * invalid Sec-WebSocket-Key, -Version, -Protocol or -Extensions header), which ws itself would
 * answer in text/html, get `{detail}` with ws's own words. The request has no body: the socket
 * is closed once the answer is written.
 */
export function websocketHandshakeError(error: Error, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.message === 'Invalid HTTP method' ? 405 : 400;
  // What ws adds for a version it does not speak (RFC 6455 §4.4).
  const headers: Record<string, string> = error.message.includes('Sec-WebSocket-Version')
    ? { 'Sec-WebSocket-Version': '13, 8' }
    : {};
  socket.once('finish', () => socket.destroy());
  socket.end(rawDetailResponse(status, error.message, headers));
}

/** What a request hears from an instance that is shutting down (main.ts, on SIGTERM/SIGINT). */
export const SHUTTING_DOWN_DETAIL = 'The server is shutting down; the request was not processed, retry it';

/**
 * An onRequest hook answering 503 `{detail}` with `Connection: close` while `closing()` is true,
 * so a client retries on a fresh connection (another instance behind the balancer). It replaces
 * Fastify's own 503 while closing (`return503OnClosing`), whose body is
 * `{"error","message","statusCode"}`.
 */
export function refuseWhileClosing(closing: () => boolean): onRequestHookHandler {
  return (_request, reply, done) => {
    if (!closing()) return done();
    // Sent as text: a route's own response schema for 503 (GET /health has one) must not apply.
    void reply
      .code(503)
      .header('connection', 'close')
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ detail: SHUTTING_DOWN_DETAIL }));
  };
}

/**
 * Turns every error into the FastAPI-compatible shape: `HttpError` as `{detail}`, schema
 * failures as 422 `{detail: [{loc, msg, type}]}`, and anything unexpected as a logged 500 that
 * leaks nothing.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | DomainError, request, reply) => {
    if (error instanceof DomainError) return sendDomainError(error, reply);
    if ('validation' in error && error.validation) {
      const where = LOCATION[error.validationContext ?? 'body'] ?? 'body';
      const detail: ValidationIssue[] = error.validation.map((v) => {
        const path = (v.instancePath ?? '')
          .split('/')
          .filter(Boolean)
          .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
        const params = v.params;
        if (v.keyword === 'required' && typeof params.missingProperty === 'string') {
          path.push(params.missingProperty);
        }
        return {
          loc: [where, ...path],
          msg: validationMessage(v.keyword, params, v.message),
          type: validationType(v.keyword, params),
        };
      });
      return reply.code(422).send({ detail });
    }
    if (
      error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
      (error.statusCode === 400 && error instanceof SyntaxError)
    ) {
      return reply.code(422).send({
        detail: [
          {
            loc: ['body'],
            msg: error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'Field required' : 'JSON decode error',
            type: error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'missing' : 'json_invalid',
          },
        ],
      });
    }
    if (isDatabaseDown(error)) {
      request.log.warn({ err: error }, 'database unreachable');
      return reply.code(503).header('retry-after', '5').send({ detail: DATABASE_DOWN_DETAIL });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (unsupported media type, body too large, …): keep the status.
      return reply.code(status).send({ detail: error.message });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ detail: 'Internal server error' });
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not Found' }));
}

function validationType(keyword: string, params: Record<string, unknown>): string {
  switch (keyword) {
    case 'required':
      return 'missing';
    case 'type':
      return `${String(params.type).split(',')[0]}_type`;
    case 'maxLength':
      return 'string_too_long';
    case 'minLength':
      return 'string_too_short';
    case 'maximum':
      return 'less_than_equal';
    case 'minimum':
      return 'greater_than_equal';
    case 'enum':
    case 'const':
    case 'anyOf':
      return 'enum';
    case 'pattern':
      return 'string_pattern_mismatch';
    default:
      return 'value_error';
  }
}

function validationMessage(
  keyword: string,
  params: Record<string, unknown>,
  fallback: string | undefined,
): string {
  switch (keyword) {
    case 'required':
      return 'Field required';
    case 'maxLength':
      return `String should have at most ${String(params.limit)} characters`;
    case 'minLength':
      return `String should have at least ${String(params.limit)} character${params.limit === 1 ? '' : 's'}`;
    case 'maximum':
      return `Input should be less than or equal to ${String(params.limit)}`;
    case 'minimum':
      return `Input should be greater than or equal to ${String(params.limit)}`;
    case 'type':
      return `Input should be a valid ${String(params.type)}`;
    default:
      return fallback ? `Input ${fallback}` : 'Invalid value';
  }
}
