/**
 * Baseline "practical ceiling": a bare `ws` server that builds the WebSocket frame once per
 * comment (ws's own `Sender.frame`) and writes that same buffer to every viewer's TCP socket.
 * Nothing is serialized, framed or copied per viewer; what is left is the cost of one
 * `socket.write` per viewer, which is as low as Node goes on this machine.
 */
import type { Socket } from 'node:net';
import { textFrames } from '../../src/realtime/frames.js';
import { serveWsRooms } from './ws-rooms.js';

serveWsRooms((peers, comment) => {
  // ws's own Sender.frame, header and payload joined once: each viewer costs exactly one write.
  const frame = textFrames([Buffer.from(JSON.stringify(comment))]);
  for (const ws of peers) {
    const socket = (ws as unknown as { _socket: Socket })._socket;
    if (ws.readyState === ws.OPEN && socket.writable) socket.write(frame);
  }
});
