/**
 * What the two bare-ws baselines share: viewers on `/ws/live/{id}` grouped in rooms, the common
 * HTTP trigger, and listening. They differ only in how one comment reaches a room's sockets.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { createBaselineServer, listen, type CommentEvent } from './http.js';

export function serveWsRooms(broadcast: (peers: Iterable<WebSocket>, comment: CommentEvent) => void): void {
  const rooms = new Map<string, Set<WebSocket>>();
  const server = createBaselineServer((comment) => broadcast(rooms.get(comment.session_id) ?? [], comment));
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    const match = /^\/ws\/live\/([^/?]+)/.exec(req.url ?? '');
    if (!match) return void socket.destroy();
    const room = match[1]!;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const peers = rooms.get(room) ?? new Set<WebSocket>();
      rooms.set(room, peers);
      peers.add(ws);
      ws.on('close', () => peers.delete(ws));
      ws.on('error', () => ws.terminate());
    });
  });
  listen(server, () => wss.close());
}
