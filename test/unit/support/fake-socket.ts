/**
 * A stand-in for ws's WebSocket with the part of its API Peer uses (readyState, bufferedAmount,
 * send, close, terminate, ping, events) and the two internals Peer.sendFramed writes through
 * (`_socket.write`, `_sender._state`). It records what a client would receive, write by write.
 */
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';

/** One write towards the client: a message sent through ws, or pre-framed bytes Peer wrote past it. */
export type Write = { via: 'send'; message: string; binary: boolean } | { via: 'framed'; messages: string[] };

export class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  /** Bytes queued but not yet sent; tests set it to play a slow reader. */
  bufferedAmount = 0;
  readonly writes: Write[] = [];
  /** The close the server asked for, and how many writes came before it. */
  closed: { code: number; reason: string; afterWrites: number } | undefined;
  terminated = false;
  pings = 0;
  /** Makes ping() throw, as ws does on a socket that is no longer open. */
  pingFails = false;

  readonly _socket = {
    write: (data: Buffer): boolean => {
      this.writes.push({ via: 'framed', messages: parseTextFrames(data) });
      return true;
    },
  };
  /** ws's frame writer: 0 while idle, anything else while it has frames of its own queued. */
  readonly _sender = { _state: 0 };

  send(data: Buffer | string, options?: { binary?: boolean }): void {
    this.writes.push({ via: 'send', message: data.toString(), binary: options?.binary ?? true });
  }

  close(code: number, reason = ''): void {
    this.closed = { code, reason, afterWrites: this.writes.length };
    this.readyState = WebSocket.CLOSING;
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = WebSocket.CLOSED;
  }

  ping(): void {
    if (this.pingFails) throw new Error('WebSocket is not open');
    this.pings++;
  }

  /** The client answers the last ping. */
  pong(): void {
    this.emit('pong');
  }

  /** Every message the client received, in order, parsed. */
  messages(): any[] {
    return this.writes
      .flatMap((w) => (w.via === 'send' ? [w.message] : w.messages))
      .map((m) => JSON.parse(m) as unknown);
  }

  /** The received messages of one type. */
  ofType(type: string): any[] {
    return this.messages().filter((m) => m.type === type);
  }

  get ws(): WebSocket {
    return this as unknown as WebSocket;
  }
}

/** Splits unmasked, unfragmented text frames (what textFrames builds) into their payloads. */
export function parseTextFrames(data: Buffer): string[] {
  const messages: string[] = [];
  let at = 0;
  while (at < data.length) {
    const first = data[at] as number;
    if (first !== 0x81) throw new Error(`not a final text frame: 0x${first.toString(16)}`);
    let length = (data[at + 1] as number) & 0x7f;
    let header = 2;
    if (length === 126) {
      length = data.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(at + 2));
      header = 10;
    }
    messages.push(data.subarray(at + header, at + header + length).toString());
    at += header + length;
  }
  return messages;
}
