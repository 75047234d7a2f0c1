import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** How long a refused body is still read, at most, before the connection closes. */
const LINGER_MS = 5_000;

/**
 * nginx's lingering close, for a body refused as too large (413) while the client is still
 * sending it. Node closes such a connection as soon as the answer is written; with the rest of
 * the body unread in the kernel's buffer, closing resets the connection, and a client that writes
 * its whole body before reading (Python's http.client, many mobile stacks) sees a broken pipe
 * instead of the 413. So the close waits until the client has sent the rest (Node reads and drops
 * it), for at most LINGER_MS.
 */
export function lingerAfterRefusedBodies(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply) => {
    if (reply.statusCode === 413 && !request.raw.complete) lingerBeforeClosing(request.raw);
  });
}

function lingerBeforeClosing(request: IncomingMessage): void {
  const socket = request.socket;
  const destroySoon = socket.destroySoon.bind(socket);
  // Node's server calls destroySoon() once a `Connection: close` answer is written.
  socket.destroySoon = () => {
    let closed = false;
    const timer = setTimeout(close, LINGER_MS);
    timer.unref();
    function close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      destroySoon();
    }
    if (request.complete) return close();
    request.once('end', close);
    request.once('close', close);
    request.resume();
  };
}
