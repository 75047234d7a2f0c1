/**
 * Baseline "practical ceiling": a bare `ws` server that builds the WebSocket frame once per
 * comment (ws's own `Sender.frame`) and writes that same buffer to every viewer's TCP socket.
 * Nothing is serialized, framed or copied per viewer; what is left is the cost of one
 * `socket.write` per viewer, which is as low as Node goes on this machine.
 */
import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import { serveWsRooms } from './ws-rooms.js';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
// ws exports Sender at runtime; @types/ws does not declare it.
const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] };
};

serveWsRooms((peers, comment) => {
  const parts = Sender.frame(Buffer.from(JSON.stringify(comment)), {
    fin: true,
    rsv1: false,
    opcode: 1,
    mask: false,
    readOnly: false,
  });
  // Header and payload joined once, so each viewer costs exactly one write (no cork needed).
  const frame = Buffer.concat(parts);
  for (const ws of peers) {
    const socket = (ws as unknown as { _socket: Socket })._socket;
    if (ws.readyState === ws.OPEN && socket.writable) socket.write(frame);
  }
});
