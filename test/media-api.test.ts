/**
 * WHIP and WHEP against a real Janus (Debian's package) in a network namespace: what a client
 * sends and gets, stream keys, and bad input that leaves nothing behind in Janus.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunningApp } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import {
  JanusProbe,
  playFromPage,
  playerOffer,
  publishFromPage,
  whipConnected,
} from './support/media-clients.js';
import { needsMedia, type JanusProcess } from './support/media-net.js';
import { startMediaStack, type MediaStack } from './support/media-stack.js';

const skip = needsMedia();

describe('WHIP and WHEP through Janus', { skip }, () => {
  let stack: MediaStack;
  let server: RunningApp;
  let page: Page;
  let probe: JanusProbe;

  before(async () => {
    stack = await startMediaStack({ turn: true });
    server = stack.server;
    page = await stack.browser.newPage();
    await page.goto(`${server.baseUrl}/app-config.json`);
    probe = await JanusProbe.open(stack.janus[0] as JanusProcess);
  });

  after(async () => {
    await probe?.close();
    await stack?.close();
  });

  /** The room id of a session, as the server stored it. */
  async function roomOf(sessionId: string): Promise<number | undefined> {
    const room = await server.app.media.sfu().rooms.get(sessionId);
    return room?.roomId;
  }

  it('reports SFU mode and the Janus server on /health and /app-config.json', async () => {
    const health = await call(server.baseUrl, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.media.mode, 'sfu');
    assert.deepEqual(
      health.body.media.servers.map((s: { reachable: boolean }) => s.reachable),
      [true],
    );
    const config = await call(server.baseUrl, 'GET', '/app-config.json');
    assert.equal(config.body.media, 'sfu');
    assert.equal(config.body.turn, true);
  });

  it('publishes over WHIP: 201 with the answer, an unguessable Location, an ETag and TURN Link headers', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const reply = await publishFromPage(page, `/live/sessions/${session.session_id}/whip`, vendor.token);
    assert.equal(reply.status, 201, reply.body);
    assert.match(reply.body, /^v=0\r\n/);
    assert.match(
      reply.location ?? '',
      new RegExp(`^/live/sessions/${session.session_id}/whip/[A-Za-z0-9_-]{32}$`),
    );
    assert.match(reply.etag ?? '', /^"[^"]+"$/);
    assert.match(
      reply.link ?? '',
      /<turn:[^>]+>; rel="ice-server"; username="\d+:[^"]+"; credential="[^"]+"/,
    );
    assert.equal(await whipConnected(page), 'connected');
    const room = await roomOf(session.session_id);
    assert.ok(room && (await probe.roomExists(room)), 'the session has its room in Janus');
  });

  it('plays over WHEP with the counter-offer: 406 with Janus offer, then the PATCHed answer gets 204', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const published = await publishFromPage(page, `/live/sessions/${session.session_id}/whip`, vendor.token);
    assert.equal(published.status, 201);
    await whipConnected(page);
    const viewer = await register(server.baseUrl);
    const played = await playFromPage(page, session.session_id, viewer.token);
    assert.equal(played.post, 406);
    assert.equal(played.patch, 204);
    assert.ok(played.width > 0, 'the viewer decodes video');
    assert.ok(played.advancing, 'playback advances');
  });

  it('answers WHEP before anyone publishes with 409 and says to wait for media live', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    const reply = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/whep`, {
      token: viewer.token,
      raw: await playerOffer(page),
      headers: { 'content-type': 'application/sdp' },
    });
    assert.equal(reply.status, 409);
    assert.match(reply.body.detail, /not sending video yet/);
  });

  it('refuses a body that is not SDP with 415 and garbage SDP with 400, leaving no room or handle in Janus', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const handlesBefore = await probe.handles();
    const json = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/whip`, {
      token: vendor.token,
      body: { sdp: 'v=0' },
    });
    assert.equal(json.status, 415);
    assert.match(json.body.detail, /application\/sdp/);
    const garbage = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/whip`, {
      token: vendor.token,
      raw: 'v=0\r\nthis is not a session description\r\n',
      headers: { 'content-type': 'application/sdp' },
    });
    assert.equal(garbage.status, 400);
    assert.match(garbage.body.detail, /SDP/);
    const almost = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/whip`, {
      token: vendor.token,
      raw: 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\na=ice-pwd:y\r\na=fingerprint:sha-256 00\r\n',
      headers: { 'content-type': 'application/sdp' },
    });
    assert.equal(almost.status, 400, JSON.stringify(almost.body));
    assert.equal(await roomOf(session.session_id), undefined, 'no room is recorded');
    assert.equal(await probe.handles(), handlesBefore, 'no handle is left in Janus');
  });

  it("refuses another vendor's session with 403 and an ended session with 409", async () => {
    const { session } = await goLive(server.baseUrl);
    const other = await register(server.baseUrl, 'vendor');
    const offer = await playerOffer(page);
    const headers = { 'content-type': 'application/sdp' };
    const foreign = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/whip`, {
      token: other.token,
      raw: offer,
      headers,
    });
    assert.equal(foreign.status, 403);
    assert.match(foreign.body.detail, /not your session/);
    const mine = await goLive(server.baseUrl);
    await call(server.baseUrl, 'POST', `/live/sessions/${mine.session.session_id}/end`, {
      token: mine.vendor.token,
    });
    const ended = await call(server.baseUrl, 'POST', `/live/sessions/${mine.session.session_id}/whip`, {
      token: mine.vendor.token,
      raw: offer,
      headers,
    });
    assert.equal(ended.status, 409);
  });

  it('publishes with a stream key to a new session titled by the key, and refuses the key once revoked', async () => {
    const vendor = await register(server.baseUrl, 'vendor');
    const created = await call(server.baseUrl, 'POST', '/me/stream-keys', {
      token: vendor.token,
      body: { name: 'OBS', title: 'From OBS' },
    });
    assert.equal(created.status, 201);
    const reply = await publishFromPage(page, '/whip', created.body.key);
    assert.equal(reply.status, 201, reply.body);
    const sessionId = /^\/live\/sessions\/([0-9a-f-]{36})\/whip\//.exec(reply.location ?? '')?.[1] ?? '';
    const session = await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}`);
    assert.equal(session.body.title, 'From OBS');
    assert.equal(String(session.body.vendor.id), String(vendor.user.id));
    await call(server.baseUrl, 'DELETE', `/me/stream-keys/${created.body.id}`, { token: vendor.token });
    const refused = await call(server.baseUrl, 'POST', '/whip', {
      token: created.body.key,
      raw: await playerOffer(page),
      headers: { 'content-type': 'application/sdp' },
    });
    assert.equal(refused.status, 401);
    assert.match(refused.body.detail, /revoked/);
  });

  it('destroys the Janus room when the session ends', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const reply = await publishFromPage(page, `/live/sessions/${session.session_id}/whip`, vendor.token);
    assert.equal(reply.status, 201);
    const room = await roomOf(session.session_id);
    assert.ok(room && (await probe.roomExists(room)));
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await probe.roomExists(room)))
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(await probe.roomExists(room), false);
  });

  it('answers a trickle PATCH with 204, a stale If-Match with 412, and an ICE restart (If-Match: "*") with 200 and a new ETag', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const reply = await publishFromPage(page, `/live/sessions/${session.session_id}/whip`, vendor.token);
    const location = reply.location ?? '';
    const headers = (ifMatch: string) => ({
      'content-type': 'application/trickle-ice-sdpfrag',
      'if-match': ifMatch,
    });
    const fragment = 'a=mid:0\r\na=end-of-candidates\r\n';
    const trickled = await call(server.baseUrl, 'PATCH', location, {
      token: vendor.token,
      raw: fragment,
      headers: headers(reply.etag ?? ''),
    });
    assert.equal(trickled.status, 204);
    const stale = await call(server.baseUrl, 'PATCH', location, {
      token: vendor.token,
      raw: fragment,
      headers: headers('"stale"'),
    });
    assert.equal(stale.status, 412);
    for (const wildcard of ['*', '"*"']) {
      const ufrag = `r${Math.random().toString(36).slice(2, 8)}`;
      const restart = await call(server.baseUrl, 'PATCH', location, {
        token: vendor.token,
        raw: `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${'p'.repeat(24)}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n`,
        headers: headers(wildcard),
      });
      assert.equal(restart.status, 200, JSON.stringify(restart.body));
      assert.match(String(restart.body), /^a=ice-ufrag:/);
      assert.notEqual(restart.headers.get('etag'), reply.etag);
    }
  });
});
