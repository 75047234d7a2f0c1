/**
 * Baseline "naive floor": a bare `ws` server that serializes each comment once and calls
 * `ws.send(string)` for every viewer, so ws frames (and copies) the message once per socket.
 */
import { serveWsRooms } from './ws-rooms.js';

serveWsRooms((peers, comment) => {
  const data = JSON.stringify(comment);
  for (const socket of peers) socket.send(data);
});
