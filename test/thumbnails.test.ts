/**
 * Session thumbnails over HTTP: the studio's PUT (its vendor only, a JPEG, at most one kept per
 * 2 s), the public GET with its validators, `thumbnail_url` on session objects, and the picture
 * kept after the end. (Pictures taken by RTMP ingest: test/media-rtmp.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { THUMBNAIL_MAX_BYTES } from '../src/contract/media.js';
import { startApp, type RunningApp } from './support/app.js';
import { jumpingClock } from './support/clock.js';
import { call, goLive, register } from './support/http.js';

/** A real JPEG of FFmpeg's test picture, `color` varying it. */
function jpegOf(color: string): Buffer {
  return execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=${color}:size=480x270`],
    ...['-frames:v', '1', '-f', 'mjpeg', '-'],
  ]);
}

describe('session thumbnails', () => {
  const clock = jumpingClock();
  let server: RunningApp;

  before(async () => {
    server = await startApp({ deps: { clock } });
  });

  after(async () => {
    await server?.close();
  });

  async function put(sessionId: string, token: string, body: Buffer, type = 'image/jpeg') {
    const res = await fetch(`${server.baseUrl}/live/sessions/${sessionId}/thumbnail`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': type },
      body: new Blob([new Uint8Array(body)]),
    });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  }

  async function picture(sessionId: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${server.baseUrl}/live/sessions/${sessionId}/thumbnail`, { headers });
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  it('a session has no thumbnail until its studio sends one; then GET serves it and thumbnail_url names it', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    assert.equal((await picture(session.session_id)).res.status, 404);
    assert.equal(
      (await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`)).body.thumbnail_url,
      null,
    );
    const red = jpegOf('red');
    assert.equal((await put(session.session_id, vendor.token, red)).status, 204);
    const { res, bytes } = await picture(session.session_id);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=5');
    assert.deepEqual(bytes, red);
    clock.jump(1_100); // past the second that live sessions' rows are kept (LOBBY_SNAPSHOT_MS)
    const shown = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.match(
      shown.body.thumbnail_url,
      new RegExp(`^/live/sessions/${session.session_id}/thumbnail\\?v=\\d+$`),
    );
    const etag = res.headers.get('etag') ?? '';
    assert.equal((await picture(session.session_id, { 'if-none-match': etag })).res.status, 304);
  });

  it('a picture within 2 s of the last is not kept; a later one replaces it under a new URL', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    await put(session.session_id, vendor.token, jpegOf('red'));
    const first = (await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`)).body
      .thumbnail_url;
    assert.equal((await put(session.session_id, vendor.token, jpegOf('blue'))).status, 204);
    assert.deepEqual((await picture(session.session_id)).bytes, jpegOf('red'));
    clock.jump(2_500);
    const green = jpegOf('green');
    await put(session.session_id, vendor.token, green);
    assert.deepEqual((await picture(session.session_id)).bytes, green);
    const second = (await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`)).body
      .thumbnail_url;
    assert.notEqual(second, first);
  });

  it('only its vendor may send one, and only a JPEG of at most 256 KiB while live', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const other = await register(server.baseUrl, 'vendor');
    const viewer = await register(server.baseUrl);
    const jpeg = jpegOf('white');
    assert.equal((await put(session.session_id, other.token, jpeg)).status, 403);
    assert.equal((await put(session.session_id, viewer.token, jpeg)).status, 403);
    const png = await put(session.session_id, vendor.token, Buffer.from('\x89PNG\r\n\x1a\n-not-a-jpeg'));
    assert.equal(png.status, 415);
    assert.match(png.body.detail, /JPEG/);
    assert.equal((await put(session.session_id, vendor.token, jpeg, 'image/png')).status, 415);
    const huge = Buffer.concat([jpeg, Buffer.alloc(THUMBNAIL_MAX_BYTES)]);
    assert.equal((await put(session.session_id, vendor.token, huge)).status, 413);
    assert.equal((await put('00000000-0000-4000-8000-000000000000', vendor.token, jpeg)).status, 404);
    assert.equal((await picture(session.session_id)).res.status, 404, 'nothing refused was kept');
  });

  it('an ended session keeps its last picture as the replay poster, cached for a day, and takes no new one', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const last = jpegOf('yellow');
    await put(session.session_id, vendor.token, last);
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    clock.jump(2_500);
    assert.equal((await put(session.session_id, vendor.token, jpegOf('black'))).status, 409);
    const { res, bytes } = await picture(session.session_id);
    assert.deepEqual(bytes, last);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=86400');
    const ended = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.ok(ended.body.thumbnail_url);
  });
});
