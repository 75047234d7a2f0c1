import * as ws from 'ws';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}

// ws exports its Sender at runtime; @types/ws does not declare it.
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

const TEXT_FRAME: FrameOptions = { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true };

/**
 * The bytes ws would write to a client for each payload as a text message (unmasked, uncompressed,
 * one frame each), concatenated. Built once per broadcast, the same buffer is then written to
 * every recipient: no per-recipient framing, copying or syscall per frame.
 */
export function textFrames(payloads: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const payload of payloads) parts.push(...Sender.frame(payload, TEXT_FRAME));
  return Buffer.concat(parts);
}
