/**
 * A session id is a UUID in any letter case (iOS's `UUID.uuidString` is upper case): every route
 * and both sockets treat the upper- and lower-case spellings as the same session.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import { TestSocket } from './support/ws.js';

const AGORA_ENV = {
  AGORA_APP_ID: '970CA35de60c44645bbae8a215061b33',
  AGORA_APP_CERTIFICATE: '5CFd2fd1755d40ecb72977518be15d3b',
};
const { AccessToken2, kRtcServiceType } = createRequire(import.meta.url)('agora-token/src/AccessToken2.js');

describe('session ids in upper case', () => {
  let server: RunningApp;
  const sockets: TestSocket[] = [];
  const watch = async (sessionId: string, token: string) => {
    const socket = await TestSocket.open(`${server.wsUrl}/ws/live/${sessionId}?token=${token}`);
    sockets.push(socket);
    await socket.waitForType('session_info');
    return socket;
  };
  const signal = async (sessionId: string, token: string, role: 'vendor' | 'viewer') => {
    const socket = await TestSocket.open(`${server.wsUrl}/ws/signal/${sessionId}?token=${token}`);
    sockets.push(socket);
    socket.send({ type: 'role', value: role });
    await socket.waitForType('welcome');
    return socket;
  };

  before(async () => {
    server = await startApp({ env: { VIEWER_COUNT_INTERVAL_MS: '50', ...AGORA_ENV } });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server.close();
  });

  test('a comment posted to the upper-case id reaches viewers of the lower-case id', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    const socket = await watch(session.session_id, viewer.token);
    const upper = session.session_id.toUpperCase();
    const res = await call(server.baseUrl, 'POST', `/live/sessions/${upper}/comments`, {
      token: viewer.token,
      body: { message: 'from iOS' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.session_id, session.session_id);
    const comment = await socket.waitFor((m) => m.type === 'comment' && m.message === 'from iOS');
    assert.equal(comment.session_id, session.session_id);
  });

  test('viewers on either spelling share one room: comments, counts and the end', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const [a, b] = await Promise.all([register(server.baseUrl), register(server.baseUrl)]);
    const lower = await watch(session.session_id, a.token);
    const upper = await watch(session.session_id.toUpperCase(), b.token);
    await upper.waitFor((m) => m.type === 'viewer_count' && m.count === 2);
    await lower.waitFor((m) => m.type === 'viewer_count' && m.count === 2);
    upper.send({ type: 'comment', message: 'over the socket' });
    await lower.waitFor((m) => m.type === 'comment' && m.message === 'over the socket');
    const ended = await call(
      server.baseUrl,
      'POST',
      `/live/sessions/${session.session_id.toUpperCase()}/end`,
      {
        token: vendor.token,
      },
    );
    assert.equal(ended.status, 200);
    for (const socket of [lower, upper]) {
      await socket.waitForType('session_ended');
      assert.equal(await socket.closeCode(), 1000);
    }
  });

  test('signaling peers on either spelling reach each other', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    const v = await signal(session.session_id, vendor.token, 'vendor');
    const w = await signal(session.session_id.toUpperCase(), viewer.token, 'viewer');
    const joined = await v.waitForType('peer_joined');
    v.send({ type: 'offer', to: joined.peer_id, sdp: 'v=0' });
    await w.waitFor((m) => m.type === 'offer' && m.sdp === 'v=0');
  });

  test('an Agora publisher token for the upper-case id is issued for the session channel', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const upper = session.session_id.toUpperCase();
    const res = await call(server.baseUrl, 'GET', `/rtc/${upper}/publisher/uid/7`, { token: vendor.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const token = new AccessToken2('', '', 0, 0);
    assert.equal(token.from_string(res.body.rtcToken), true);
    assert.equal(String(token.getServices(kRtcServiceType)[0].__channel_name), session.session_id);
  });
});
