import { WebSocket, type WebSocketServer } from 'ws';
import { CloseCode } from '../contract/close-codes.js';

/**
 * Closes every WebSocket still open with 1012 (the hubs close their admitted peers first; this
 * also reaches sockets still being admitted) and resolves once all have closed. A client that
 * does not answer the close handshake within `graceMs` is cut off, so one dead phone cannot hold
 * the shutdown past its deadline (ws alone would wait 30 s).
 */
export function drainWebSockets(server: WebSocketServer, graceMs: number): Promise<void> {
  const open = [...server.clients].filter((socket) => socket.readyState !== WebSocket.CLOSED);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let left = open.length;
    const timer = setTimeout(() => {
      for (const socket of open) socket.terminate();
      resolve();
    }, graceMs);
    timer.unref();
    for (const socket of open) {
      socket.once('close', () => {
        left -= 1;
        if (left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
        socket.close(CloseCode.restarting, 'server restarting');
      }
    }
  });
}
