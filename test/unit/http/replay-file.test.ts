/**
 * A replay's file over HTTP (RFC 9110 §13-14), as `sendReplayFile` answers: one range or the
 * whole file, 416 beyond the end, and conditional requests by ETag, Last-Modified and If-Range.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../../src/http/errors.js';
import { sendReplayFile } from '../../../src/http/replay-file.js';

const SIZE = 100;
const bytes = Buffer.from(Array.from({ length: SIZE }, (_, i) => i));

describe('sendReplayFile', () => {
  let root: string;
  let app: FastifyInstance;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'replay-file-'));
    writeFileSync(join(root, 'a.webm'), bytes);
    writeFileSync(join(root, 'empty.webm'), '');
    app = Fastify();
    installErrorHandler(app);
    app.get<{ Params: { name: string } }>('/:name', (request, reply) =>
      sendReplayFile(request, reply, {
        path: join(root, request.params.name),
        size: SIZE,
        contentType: 'video/webm',
      }),
    );
    await app.ready();
  });
  after(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  const get = (headers: Record<string, string> = {}, name = 'a.webm') =>
    app.inject({ method: 'GET', url: `/${name}`, headers });

  test('no Range: the whole file, its type, ranges accepted, kept an hour', async () => {
    const reply = await get();
    assert.equal(reply.statusCode, 200);
    assert.deepEqual(reply.rawPayload, bytes);
    assert.equal(reply.headers['content-type'], 'video/webm');
    assert.equal(reply.headers['accept-ranges'], 'bytes');
    assert.equal(reply.headers['cache-control'], 'private, max-age=3600');
  });

  test('another unit or several ranges: the whole file', async () => {
    for (const range of ['items=0-5', 'bytes=0-5,10-20']) {
      const reply = await get({ range });
      assert.equal(reply.statusCode, 200, range);
      assert.equal(reply.rawPayload.length, SIZE, range);
    }
  });

  test('a malformed range is refused: 416', async () => {
    for (const range of ['bytes=abc', 'bytes=-', 'bytes=9-3']) {
      assert.equal((await get({ range })).statusCode, 416, range);
    }
  });

  test('bytes=a-b: inclusive, the end cut to the last byte', async () => {
    for (const [range, start, end] of [
      ['bytes=10-19', 10, 19],
      ['bytes=0-0', 0, 0],
      ['bytes=90-500', 90, 99],
    ] as const) {
      const reply = await get({ range });
      assert.equal(reply.statusCode, 206, range);
      assert.equal(reply.headers['content-range'], `bytes ${start}-${end}/${SIZE}`, range);
      assert.deepEqual(reply.rawPayload, bytes.subarray(start, end + 1), range);
    }
  });

  test('bytes=a- to the end, and bytes=-n the last n (the whole file when n is larger)', async () => {
    for (const [range, start] of [
      ['bytes=40-', 40],
      ['bytes=99-', 99],
      ['bytes=-10', 90],
      ['bytes=-1000', 0],
    ] as const) {
      const reply = await get({ range });
      assert.equal(reply.statusCode, 206, range);
      assert.equal(reply.headers['content-range'], `bytes ${start}-99/${SIZE}`, range);
      assert.deepEqual(reply.rawPayload, bytes.subarray(start), range);
    }
  });

  test('beyond the end: 416 {detail} with Content-Range bytes */size, not cached', async () => {
    for (const range of ['bytes=100-', 'bytes=100-200']) {
      const reply = await get({ range });
      assert.equal(reply.statusCode, 416, range);
      assert.equal(reply.headers['content-range'], `bytes */${SIZE}`, range);
      assert.equal(reply.headers['cache-control'], 'private, no-store');
      assert.deepEqual(reply.json(), { detail: 'Range not satisfiable' });
    }
  });

  test('its ETag or Last-Modified sent back: 304 with no body', async () => {
    const { headers } = await get();
    assert.ok(headers.etag && headers['last-modified'], 'ETag and Last-Modified');
    const conditions: Record<string, string>[] = [
      { 'if-none-match': String(headers.etag) },
      { 'if-modified-since': String(headers['last-modified']) },
    ];
    for (const condition of conditions) {
      const reply = await get(condition);
      assert.equal(reply.statusCode, 304, JSON.stringify(condition));
      assert.equal(reply.rawPayload.length, 0);
    }
  });

  test('If-Range: the range while the ETag matches, the whole file once it does not', async () => {
    const { headers } = await get();
    const current = await get({ range: 'bytes=0-9', 'if-range': String(headers.etag) });
    assert.equal(current.statusCode, 206);
    const stale = await get({ range: 'bytes=0-9', 'if-range': '"another-version"' });
    assert.equal(stale.statusCode, 200);
    assert.equal(stale.rawPayload.length, SIZE);
  });

  test('a file gone between the lookup and the read: 404 Replay not found', async () => {
    const reply = await get({}, 'missing.webm');
    assert.equal(reply.statusCode, 404);
    assert.deepEqual(reply.json(), { detail: 'Replay not found' });
  });
});
