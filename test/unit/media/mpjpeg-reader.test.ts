import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJpeg, MpjpegReader } from '../../../src/media/mpjpeg-reader.js';

/** A JPEG-looking body (SOI, APP0) of `size` bytes, and FFmpeg's mpjpeg framing around it. */
const jpeg = (size: number, fill: number) =>
  Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(size - 4, fill)]);
const part = (body: Buffer) =>
  Buffer.concat([
    Buffer.from(`--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: ${body.length}\r\n\r\n`),
    body,
    Buffer.from('\r\n'),
  ]);

describe('MpjpegReader', () => {
  test('yields each JPEG whole, however the pipe cuts the bytes', () => {
    const images = [jpeg(5000, 1), jpeg(70, 2), jpeg(9000, 3)];
    const bytes = Buffer.concat(images.map(part));
    for (const step of [1, 7, 4096, bytes.length]) {
      const seen: Buffer[] = [];
      const reader = new MpjpegReader((image) => seen.push(image));
      for (let i = 0; i < bytes.length; i += step) reader.push(bytes.subarray(i, i + step));
      assert.deepEqual(seen, images, `in pieces of ${step}`);
    }
  });

  test('a part that is not a JPEG is skipped; the next one still arrives', () => {
    const seen: Buffer[] = [];
    const reader = new MpjpegReader((image) => seen.push(image));
    reader.push(Buffer.concat([part(Buffer.from('not a picture')), part(jpeg(100, 9))]));
    assert.deepEqual(seen, [jpeg(100, 9)]);
  });

  test('a stream without headers, or an absurd length, is given up', () => {
    const seen: Buffer[] = [];
    const noise = new MpjpegReader((image) => seen.push(image));
    noise.push(Buffer.alloc(10_000, 0x41));
    noise.push(part(jpeg(100, 1)));
    const huge = new MpjpegReader((image) => seen.push(image));
    huge.push(Buffer.from('--ffmpeg\r\nContent-length: 999999999\r\n\r\n'));
    huge.push(part(jpeg(100, 1)));
    assert.equal(seen.length, 0);
  });

  test('isJpeg knows the start of a JPEG', () => {
    assert.equal(isJpeg(jpeg(10, 0)), true);
    assert.equal(isJpeg(Buffer.from('GIF89a')), false);
  });
});
