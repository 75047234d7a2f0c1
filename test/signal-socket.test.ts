import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import { sleep, TestSocket } from './support/ws.js';

describe('/ws/signal', () => {
  let server: RunningApp;
  const sockets: TestSocket[] = [];

  /** Opens a signaling socket, sends the role message when given, and waits for `welcome`. */
  const join = async (sessionId: string, token: string, role?: 'vendor' | 'viewer') => {
    const socket = await TestSocket.open(`${server.wsUrl}/ws/signal/${sessionId}?token=${token}`);
    sockets.push(socket);
    if (role) socket.send({ type: 'role', value: role });
    await socket.waitForType('welcome');
    return socket;
  };
  const viewerToken = async () => (await register(server.baseUrl)).token;

  before(async () => {
    server = await startApp();
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server.close();
  });

  test('every peer is welcomed with a peer_id and its role', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const v = await join(session.session_id, vendor.token, 'vendor');
    const w = await join(session.session_id, await viewerToken(), 'viewer');
    const vw = v.ofType('welcome')[0];
    const ww = w.ofType('welcome')[0];
    assert.equal(vw.role, 'vendor');
    assert.equal(ww.role, 'viewer');
    assert.match(vw.peer_id, /^[0-9a-f]{16}$/);
    assert.notEqual(vw.peer_id, ww.peer_id);
  });

  test('without a role message a peer becomes a viewer', async () => {
    const { session } = await goLive(server.baseUrl);
    const w = await join(session.session_id, await viewerToken());
    assert.equal(w.ofType('welcome')[0].role, 'viewer');
  });

  test('a first message other than role makes a viewer and is still handled', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const v = await join(session.session_id, vendor.token, 'vendor');
    const socket = await TestSocket.open(
      `${server.wsUrl}/ws/signal/${session.session_id}?token=${await viewerToken()}`,
    );
    sockets.push(socket);
    socket.send({ type: 'candidate', candidate: 'c1' });
    assert.equal((await socket.waitForType('welcome')).role, 'viewer');
    const relayed = await v.waitForType('candidate');
    assert.equal(relayed.candidate, 'c1');
  });

  test('the vendor role is refused with 4403 for a plain user', async () => {
    const { session } = await goLive(server.baseUrl);
    const socket = await TestSocket.open(
      `${server.wsUrl}/ws/signal/${session.session_id}?token=${await viewerToken()}`,
    );
    socket.send({ type: 'role', value: 'vendor' });
    assert.equal(await socket.closeCode(), 4403);
  });

  test("the vendor role is refused with 4403 for another session's vendor", async () => {
    const { session } = await goLive(server.baseUrl);
    const intruder = await register(server.baseUrl, 'vendor');
    const socket = await TestSocket.open(
      `${server.wsUrl}/ws/signal/${session.session_id}?token=${intruder.token}`,
    );
    socket.send({ type: 'role', value: 'vendor' });
    assert.equal(await socket.closeCode(), 4403);
  });

  test('admission closes with 4401 without a token, 4404 for an unknown and 4410 for an ended session', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const anonymous = await TestSocket.open(`${server.wsUrl}/ws/signal/${session.session_id}`);
    assert.equal(await anonymous.closeCode(), 4401);
    const unknown = await TestSocket.open(
      `${server.wsUrl}/ws/signal/${crypto.randomUUID()}?token=${vendor.token}`,
    );
    assert.equal(await unknown.closeCode(), 4404);
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    const ended = await TestSocket.open(
      `${server.wsUrl}/ws/signal/${session.session_id}?token=${vendor.token}`,
    );
    assert.equal(await ended.closeCode(), 4410);
  });

  test('a vendor joining hears peer_joined for every viewer already present', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const alice = await register(server.baseUrl, 'user', 'alice');
    const bob = await register(server.baseUrl, 'user', 'bob');
    const a = await join(session.session_id, alice.token, 'viewer');
    const b = await join(session.session_id, bob.token, 'viewer');
    const v = await join(session.session_id, vendor.token, 'vendor');
    await v.waitFor(() => v.ofType('peer_joined').length === 2);
    const joined = v.ofType('peer_joined');
    assert.deepEqual(
      joined.map((j) => j.peer_id).sort(),
      [a.ofType('welcome')[0].peer_id, b.ofType('welcome')[0].peer_id].sort(),
    );
    const aliceJoined = joined.find((j) => j.user_name === 'alice');
    assert.deepEqual(aliceJoined, {
      type: 'peer_joined',
      peer_id: a.ofType('welcome')[0].peer_id,
      user_id: alice.user.id,
      user_name: 'alice',
    });
  });

  test('viewers hear vendor_joined when the vendor arrives and vendor_left when it goes', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const w = await join(session.session_id, await viewerToken(), 'viewer');
    const v = await join(session.session_id, vendor.token, 'vendor');
    const vendorPeer = v.ofType('welcome')[0].peer_id;
    assert.deepEqual(await w.waitForType('vendor_joined'), { type: 'vendor_joined', peer_id: vendorPeer });
    v.close();
    assert.deepEqual(await w.waitForType('vendor_left'), { type: 'vendor_left', peer_id: vendorPeer });
    assert.equal(w.ofType('vendor_joined').length, 1, 'told about the vendor once');
  });

  test('a viewer joining after the vendor is told about it, and the vendor hears peer_joined and peer_left', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const v = await join(session.session_id, vendor.token, 'vendor');
    const w = await join(session.session_id, await viewerToken(), 'viewer');
    const viewerPeer = w.ofType('welcome')[0].peer_id;
    assert.equal((await w.waitForType('vendor_joined')).peer_id, v.ofType('welcome')[0].peer_id);
    assert.equal((await v.waitForType('peer_joined')).peer_id, viewerPeer);
    w.close();
    assert.deepEqual(await v.waitForType('peer_left'), { type: 'peer_left', peer_id: viewerPeer });
  });

  test('offer, answer and candidate are relayed verbatim and stamped with from', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const v = await join(session.session_id, vendor.token, 'vendor');
    const w = await join(session.session_id, await viewerToken(), 'viewer');
    const vendorPeer = v.ofType('welcome')[0].peer_id;
    const viewerPeer = (await v.waitForType('peer_joined')).peer_id;

    const sdp = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', extra: { nested: [1, 2] } };
    v.send({ ...sdp, to: viewerPeer });
    assert.deepEqual(await w.waitForType('offer'), { ...sdp, to: viewerPeer, from: vendorPeer });

    w.send({ type: 'answer', sdp: 'answer-sdp' });
    assert.deepEqual(await v.waitForType('answer'), { type: 'answer', sdp: 'answer-sdp', from: viewerPeer });

    w.send({ type: 'candidate', to: vendorPeer, candidate: { candidate: 'candidate:1', sdpMid: '0' } });
    assert.deepEqual(await v.waitForType('candidate'), {
      type: 'candidate',
      to: vendorPeer,
      candidate: { candidate: 'candidate:1', sdpMid: '0' },
      from: viewerPeer,
    });

    v.send({ type: 'bye', to: viewerPeer });
    assert.equal((await w.waitForType('bye')).from, vendorPeer);
  });

  test('a from field sent by a client is replaced by the server', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const v = await join(session.session_id, vendor.token, 'vendor');
    const w = await join(session.session_id, await viewerToken(), 'viewer');
    await v.waitForType('peer_joined');
    w.send({ type: 'answer', sdp: 'x', from: 'someone-else' });
    assert.equal((await v.waitForType('answer')).from, w.ofType('welcome')[0].peer_id);
  });

  test('a vendor message without to reaches every viewer', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const v = await join(session.session_id, vendor.token, 'vendor');
    const viewers = [
      await join(session.session_id, await viewerToken(), 'viewer'),
      await join(session.session_id, await viewerToken(), 'viewer'),
    ];
    await v.waitFor(() => v.ofType('peer_joined').length === 2);
    v.send({ type: 'bye' });
    for (const w of viewers) assert.equal((await w.waitForType('bye')).from, v.ofType('welcome')[0].peer_id);
  });

  test('viewers cannot reach each other', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const v = await join(session.session_id, vendor.token, 'vendor');
    const a = await join(session.session_id, await viewerToken(), 'viewer');
    const b = await join(session.session_id, await viewerToken(), 'viewer');
    await v.waitFor(() => v.ofType('peer_joined').length === 2);
    a.send({ type: 'offer', to: b.ofType('welcome')[0].peer_id, sdp: 'sneaky' });
    assert.equal((await a.waitForType('error')).code, 'forbidden_target');
    a.send({ type: 'candidate', candidate: 'to-vendor' });
    await v.waitForType('candidate');
    assert.equal(b.ofType('offer').length + b.ofType('candidate').length, 0);
  });

  test('a newer vendor connection replaces the older, which is closed with 4409', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const w = await join(session.session_id, await viewerToken(), 'viewer');
    const first = await join(session.session_id, vendor.token, 'vendor');
    await w.waitForType('vendor_joined');
    const second = await join(session.session_id, vendor.token, 'vendor');
    assert.equal(await first.closeCode(), 4409);
    const newPeer = second.ofType('welcome')[0].peer_id;
    await w.waitFor((m) => m.type === 'vendor_joined' && m.peer_id === newPeer);
    await second.waitForType('peer_joined');
    await sleep(100);
    assert.equal(w.ofType('vendor_left').length, 0, 'a replaced vendor does not announce leaving');
    w.send({ type: 'answer', sdp: 'to the new vendor' });
    assert.equal((await second.waitForType('answer')).sdp, 'to the new vendor');
  });

  test('messages up to 64 KiB are relayed and larger ones close with 1009', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const v = await join(session.session_id, vendor.token, 'vendor');
    const w = await join(session.session_id, await viewerToken(), 'viewer');
    const viewerPeer = (await v.waitForType('peer_joined')).peer_id;
    const big = 'a'.repeat(60 * 1024);
    v.send({ type: 'offer', to: viewerPeer, sdp: big });
    assert.equal((await w.waitForType('offer')).sdp.length, big.length);
    v.send({ type: 'offer', to: viewerPeer, sdp: 'b'.repeat(70 * 1024) });
    assert.equal(await v.closeCode(), 1009);
  });

  test('an unknown type gets an error event and the connection stays', async () => {
    const { session } = await goLive(server.baseUrl);
    const w = await join(session.session_id, await viewerToken(), 'viewer');
    w.send({ type: 'teleport' });
    assert.equal((await w.waitForType('error')).code, 'unknown_type');
    w.send('not json');
    await w.waitFor((m) => m.type === 'error' && m.code === 'bad_json');
    w.send({ type: 'ping' });
    await w.waitForType('pong');
  });

  test('ending the session closes signaling peers with 1000', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const v = await join(session.session_id, vendor.token, 'vendor');
    const w = await join(session.session_id, await viewerToken(), 'viewer');
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    assert.equal(await v.closeCode(), 1000);
    assert.equal(await w.closeCode(), 1000);
    assert.equal(w.messages.at(-1).type, 'session_ended');
  });

  test('a peer connecting right after the end is closed with 4410, not welcomed', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    // A viewer came and went: the session's facts are cached as live, and no room hears the end.
    const gone = await join(session.session_id, await viewerToken(), 'viewer');
    gone.close();
    await gone.closed;
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    const late = await TestSocket.open(
      `${server.wsUrl}/ws/signal/${session.session_id}?token=${await viewerToken()}`,
    );
    sockets.push(late);
    late.send({ type: 'role', value: 'viewer' });
    assert.equal(await late.closeCode(), 4410);
    assert.equal(late.ofType('welcome').length, 0);
  });
});
