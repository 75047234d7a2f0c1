/**
 * Baseline "naive floor": a bare `ws` server that serializes each comment once and calls
 * `ws.send(string)` for every viewer, so ws frames (and copies) the message once per socket.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { createBaselineServer, listen } from './http.js';

const rooms = new Map<string, Set<WebSocket>>();
const server = createBaselineServer((comment) => {
  const data = JSON.stringify(comment);
  for (const socket of rooms.get(comment.session_id) ?? []) socket.send(data);
});
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
