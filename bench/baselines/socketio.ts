/**
 * Baseline "what a Node team would pick": Socket.IO 4 with one room per session and
 * `io.to(room).emit('comment', …)`. WebSocket transport only (no long-polling), no compression,
 * as a production deployment would configure it for this load.
 */
import { Server } from 'socket.io';
import { createBaselineServer, listen } from './http.js';

function serve(): void {
  const server = createBaselineServer((comment) => {
    io.to(comment.session_id).emit('comment', comment);
  });
  const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
  io.on('connection', (socket) => {
    const room = socket.handshake.query.session;
    if (typeof room === 'string') void socket.join(room);
  });
  listen(server, () => void io.close());
}

serve();
