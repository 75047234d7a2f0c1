/**
 * A minimal reader of server-to-client WebSocket frames (unmasked, per RFC 6455), used by the
 * generator after ws has done the handshake. ws's own Receiver is a Writable stream with an
 * event per message: correct and general, but on a 2-core machine shared with the server its
 * per-message cost would make the generator the bottleneck. This one slices frames straight out
 * of each TCP chunk, copying only when a frame straddles two chunks.
 */

export interface FrameHandlers {
  text(payload: Buffer): void;
  ping(payload: Buffer): void;
  close(code: number): void;
  /** Something this reader does not support (fragmented messages): the viewer fails. */
  unsupported(reason: string): void;
}

export class FrameReader {
  #pending: Buffer | undefined;

  constructor(private readonly handlers: FrameHandlers) {}

  push(chunk: Buffer): void {
    const data = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    let offset = 0;
    while (data.length - offset >= 2) {
      const first = data[offset]!;
      const second = data[offset + 1]!;
      let length = second & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - offset < 10) break;
        length = Number(data.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (second & 0x80) return this.handlers.unsupported('masked frame from server');
      if (data.length - offset < header + length) break;
      const payload = data.subarray(offset + header, offset + header + length);
      offset += header + length;
      const opcode = first & 0x0f;
      if ((first & 0x80) === 0 || opcode === 0) return this.handlers.unsupported('fragmented message');
      if (opcode === 1 || opcode === 2) this.handlers.text(payload);
      else if (opcode === 9) this.handlers.ping(payload);
      else if (opcode === 8) return this.handlers.close(payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
    }
    if (offset < data.length) this.#pending = Buffer.from(data.subarray(offset));
  }
}
