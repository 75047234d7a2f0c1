/**
 * The app's own shutdown with a Janus that stopped answering (SIGSTOP: the TCP connection stays
 * up, nothing comes back): app.close() ends within the bound of docs/hardening.md, and a WHIP
 * request waiting on that Janus is answered 503 instead of holding the close.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type RunningApp } from './support/app.js';
import { call, goLive } from './support/http.js';
import { createMediaNet, needsMedia, type JanusProcess, type MediaNet } from './support/media-net.js';
import { serverName } from '../src/media/janus-pool.js';

/** docs/hardening.md: a Janus connection's close handshake gets 1 s, an attempt under way 3 s. */
const CLOSE_BOUND_MS = 4_000;

/** Enough SDP to pass our checks, so the request reaches Janus. */
const OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
  'a=rtpmap:96 VP8/90000',
  '',
].join('\r\n');

describe('app.close() with a Janus that does not answer', { skip: needsMedia() }, () => {
  let net: MediaNet;
  let janus: JanusProcess;
  let server: RunningApp;

  before(async () => {
    net = await createMediaNet();
    janus = await net.startJanus({ apiSecret: 'shutdown-secret' });
    server = await startApp({
      host: net.hostAddress,
      env: { JANUS_URLS: janus.url, JANUS_API_SECRET: 'shutdown-secret' },
    });
  });

  after(async () => {
    process.kill(janus.pid, 'SIGCONT');
    await net?.close();
  });

  it('answers a WHIP request waiting on the stopped Janus with 503 and closes within the bound', async () => {
    const { vendor, session } = await goLive(server.baseUrl, 'shutdown');
    // The moment the request asks Janus for a handle, Janus is already stopped.
    const janusSession = server.app.media.sfu().pool.session(serverName(janus.url));
    const attach = janusSession.attach.bind(janusSession);
    const asked = new Promise<void>((resolve) => {
      janusSession.attach = (...args) => {
        resolve();
        return attach(...args);
      };
    });
    process.kill(janus.pid, 'SIGSTOP');
    const publish = call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/whip`, {
      token: vendor.token,
      raw: OFFER,
      headers: { 'content-type': 'application/sdp' },
    });
    await asked;

    const startedAt = Date.now();
    await server.close();
    const closedIn = Date.now() - startedAt;

    const reply = await publish;
    assert.equal(reply.status, 503, JSON.stringify(reply.body));
    assert.match(reply.body.detail, /went away during the request/);
    assert.ok(closedIn < CLOSE_BOUND_MS, `app.close() took ${closedIn} ms`);
  });
});
