import type { FastifyRequest } from 'fastify';
import { WebSocket } from 'ws';
import { CloseCode } from '../contract/close-codes.js';
import { DATABASE_DOWN_DETAIL } from '../contract/errors.js';
import { isDatabaseDown } from '../db/errors.js';

/**
 * What a WebSocket handler that threw during admission does to its socket. The default would
 * terminate it without a word; a client deserves a close code it can act on: 1013 with the
 * database's words while PostgreSQL is unreachable (reconnect in a moment), else 1011.
 */
export function websocketErrorHandler(error: Error, socket: WebSocket, request: FastifyRequest): void {
  if (socket.readyState !== WebSocket.OPEN) return;
  if (isDatabaseDown(error)) {
    request.log.warn({ err: error }, 'websocket admission failed: database unreachable');
    socket.close(CloseCode.tryAgainLater, DATABASE_DOWN_DETAIL);
    return;
  }
  request.log.error({ err: error }, 'websocket handler failed');
  socket.close(CloseCode.internal, 'Internal server error');
}
