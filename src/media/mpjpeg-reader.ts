/** A part larger than this is not a thumbnail: the reader gives up on the stream. */
const MAX_PART_BYTES = 2 * 1024 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Splits FFmpeg's `mpjpeg` output (multipart parts, each `--ffmpeg`, headers with
 * `Content-length`, a blank line, the JPEG) into whole JPEGs, however the pipe cuts the bytes.
 */
export class MpjpegReader {
  #buffer: Buffer = Buffer.alloc(0);
  #broken = false;

  constructor(private readonly onImage: (jpeg: Buffer) => void) {}

  /** Takes the next bytes of the stream; calls `onImage` for each JPEG completed. */
  push(chunk: Buffer): void {
    if (this.#broken) return;
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    for (;;) {
      const headerEnd = this.#buffer.indexOf(HEADER_END);
      if (headerEnd < 0) {
        if (this.#buffer.length > 4096) this.#broken = true;
        return;
      }
      const headers = this.#buffer.subarray(0, headerEnd).toString('latin1');
      const length = Number(/content-length:\s*(\d+)/i.exec(headers)?.[1] ?? NaN);
      if (!Number.isSafeInteger(length) || length > MAX_PART_BYTES) {
        this.#broken = true;
        return;
      }
      const start = headerEnd + HEADER_END.length;
      if (this.#buffer.length < start + length) return;
      const jpeg = Buffer.from(this.#buffer.subarray(start, start + length));
      this.#buffer = this.#buffer.subarray(start + length);
      if (isJpeg(jpeg)) this.onImage(jpeg);
    }
  }
}

/** Whether `bytes` start as a JPEG does (SOI, then a marker). */
export function isJpeg(bytes: Buffer): boolean {
  return bytes.length > 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}
