import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { DATABASE_DOWN_DETAIL, isDatabaseDown } from './errors.js';

/** "Try again later": the client should reconnect after a pause. */
const TRY_AGAIN_LATER = 1013;
const INTERNAL_ERROR = 1011;

/**
 * What a WebSocket handler that threw during admission does to its socket. The default would
 * terminate it without a word; a client deserves a close code it can act on: 1013 with the
 * database's words while PostgreSQL is unreachable (reconnect in a moment), else 1011.
 */
export function websocketErrorHandler(error: Error, socket: WebSocket, request: FastifyRequest): void {
  if (socket.readyState !== socket.OPEN) return;
  if (isDatabaseDown(error)) {
    request.log.warn({ err: error }, 'websocket admission failed: database unreachable');
    socket.close(TRY_AGAIN_LATER, DATABASE_DOWN_DETAIL);
    return;
  }
  request.log.error({ err: error }, 'websocket handler failed');
  socket.close(INTERNAL_ERROR, 'Internal server error');
}
