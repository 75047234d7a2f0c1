import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { startApp, type RunningApp } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import { eventually, sleep, SocketPool, TestSocket } from './support/ws.js';

describe('/ws/live', () => {
  let server: RunningApp;
  const sockets = new SocketPool();
  const open = (path: string) => sockets.open(server.wsUrl + path);
  const watch = async (sessionId: string, token: string) => {
    const socket = await open(`/ws/live/${sessionId}?token=${token}`);
    await socket.waitForType('session_info');
    return socket;
  };

  before(async () => {
    server = await startApp({ env: { VIEWER_COUNT_INTERVAL_MS: '100' } });
  });
  after(async () => {
    sockets.closeAll();
    await server.close();
  });

  test('a plain HTTP request to the endpoint is answered 426 with a detail', async () => {
    const { session } = await goLive(server.baseUrl);
    const res = await call(server.baseUrl, 'GET', `/ws/live/${session.session_id}`);
    assert.equal(res.status, 426);
    assert.match(res.body.detail, /WebSocket/);
    const signal = await call(server.baseUrl, 'GET', `/ws/signal/${session.session_id}`);
    assert.equal(signal.status, 426);
  });

  test('a connection without a token is closed with 4401', async () => {
    const { session } = await goLive(server.baseUrl);
    const socket = await open(`/ws/live/${session.session_id}`);
    assert.equal(await socket.closeCode(), 4401);
  });

  test('a token signed with another secret is closed with 4401', async () => {
    const { session } = await goLive(server.baseUrl);
    const forged = await new SignJWT({ role: 'user', name: 'mallory' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(crypto.randomUUID())
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-server-secret'));
    const socket = await open(`/ws/live/${session.session_id}?token=${forged}`);
    assert.equal(await socket.closeCode(), 4401);
  });

  test('an unknown session is closed with 4404', async () => {
    const viewer = await register(server.baseUrl);
    const socket = await open(`/ws/live/${crypto.randomUUID()}?token=${viewer.token}`);
    assert.equal(await socket.closeCode(), 4404);
  });

  test('an ended session is closed with 4410', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    const viewer = await register(server.baseUrl);
    const socket = await open(`/ws/live/${session.session_id}?token=${viewer.token}`);
    assert.equal(await socket.closeCode(), 4410);
  });

  test('the bearer header authenticates as well as ?token=', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    const socket = await TestSocket.open(`${server.wsUrl}/ws/live/${session.session_id}`, {
      headers: { authorization: `Bearer ${viewer.token}` },
    });
    sockets.keep(socket);
    assert.equal((await socket.waitForType('session_info')).is_live, true);
  });

  test('on connect the server sends viewer_count, views_total, then session_info', async () => {
    const { session } = await goLive(server.baseUrl, 'Order test');
    const viewer = await register(server.baseUrl);
    const socket = await watch(session.session_id, viewer.token);
    const [count, views, info] = socket.messages;
    assert.deepEqual(count, { type: 'viewer_count', count: 1 });
    assert.deepEqual(views, { type: 'views_total', total: 1 });
    assert.equal(info.type, 'session_info');
    assert.equal(info.is_live, true);
    assert.equal(info.ended_at, null);
    assert.equal(info.viewer_count, 1);
    assert.equal(info.views_total, 1);
    assert.equal(typeof info.started_at, 'string');
    assert.equal(Number.isInteger(info.live_duration_seconds), true);
  });

  test('a comment posted over REST reaches every viewer as a comment event', async () => {
    const { session } = await goLive(server.baseUrl);
    const [a, b] = [await register(server.baseUrl), await register(server.baseUrl)];
    const sa = await watch(session.session_id, a.token);
    const sb = await watch(session.session_id, b.token);
    const posted = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
      token: a.token,
      body: { message: 'hello everyone' },
    });
    assert.equal(posted.status, 200);
    for (const socket of [sa, sb]) {
      const event = await socket.waitForType('comment');
      assert.deepEqual(event, { type: 'comment', ...posted.body });
      assert.equal(event.user_name, a.user.name);
      assert.equal(event.message, 'hello everyone');
    }
  });

  test('comments published in one event-loop turn reach each viewer intact, as separate events in order', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewers = [
      await watch(session.session_id, (await register(server.baseUrl)).token),
      await watch(session.session_id, (await register(server.baseUrl)).token),
    ];
    // Short and long (7- and 16-bit frame lengths), multi-byte text: all framed once, together.
    const messages = ['a', 'ünïcødé 🎉 ✓', 'x'.repeat(200), '€'.repeat(1000), '"quotes" and \\ backslashes'];
    messages.forEach((message, i) =>
      server.app.realtime.liveHub.commentPosted({
        id: `c${i}`,
        session_id: session.session_id,
        user_id: 'u',
        user_name: 'burst',
        message,
        ts: new Date().toISOString(),
        offset: i + 1,
      }),
    );
    for (const viewer of viewers) {
      await viewer.waitFor((m) => m.type === 'comment' && m.id === `c${messages.length - 1}`);
      assert.deepEqual(
        viewer.ofType('comment').map((m) => m.message),
        messages,
      );
    }
  });

  test('a comment sent over the socket is stored and broadcast like a REST comment', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    const other = await watch(session.session_id, (await register(server.baseUrl)).token);
    const socket = await watch(session.session_id, viewer.token);
    socket.send({ type: 'comment', message: '  from the socket  ' });
    const event = await other.waitForType('comment');
    assert.equal(event.message, 'from the socket');
    assert.equal(event.user_id, viewer.user.id);
    const stored = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}/comments`);
    assert.deepEqual(
      stored.body.items.map((c: any) => c.id),
      [event.id],
    );
  });

  test('a blank comment over the socket gets an error event and the connection stays', async () => {
    const { session } = await goLive(server.baseUrl);
    const socket = await watch(session.session_id, (await register(server.baseUrl)).token);
    socket.send({ type: 'comment', message: '   ' });
    const error = await socket.waitForType('error');
    assert.equal(error.code, 'invalid_message');
    socket.send({ type: 'ping' });
    await socket.waitForType('pong');
  });

  test('ping is answered with pong', async () => {
    const { session } = await goLive(server.baseUrl);
    const socket = await watch(session.session_id, (await register(server.baseUrl)).token);
    socket.send({ type: 'ping' });
    assert.deepEqual(await socket.waitForType('pong'), { type: 'pong' });
  });

  test('bad JSON gets an error event with code bad_json and the connection stays', async () => {
    const { session } = await goLive(server.baseUrl);
    const socket = await watch(session.session_id, (await register(server.baseUrl)).token);
    socket.send('{not json');
    const error = await socket.waitForType('error');
    assert.equal(error.code, 'bad_json');
    assert.equal(typeof error.detail, 'string');
    socket.send({ type: 'ping' });
    await socket.waitForType('pong');
  });

  test('an unknown message type gets an error event with code unknown_type and the connection stays', async () => {
    const { session } = await goLive(server.baseUrl);
    const socket = await watch(session.session_id, (await register(server.baseUrl)).token);
    socket.send({ type: 'dance' });
    assert.equal((await socket.waitForType('error')).code, 'unknown_type');
    socket.send({ type: 'ping' });
    await socket.waitForType('pong');
  });

  test('a frame over the size limit closes the connection with 1009', async () => {
    const { session } = await goLive(server.baseUrl);
    const socket = await watch(session.session_id, (await register(server.baseUrl)).token);
    socket.send({ type: 'comment', message: 'x'.repeat(20_000) });
    assert.equal(await socket.closeCode(), 1009);
  });

  test('a client flooding messages is closed with 1008', async () => {
    const { session } = await goLive(server.baseUrl);
    const socket = await watch(session.session_id, (await register(server.baseUrl)).token);
    for (let i = 0; i < 200; i++) socket.send({ type: 'ping' });
    assert.equal(await socket.closeCode(), 1008);
  });

  test('viewer_count follows viewers joining and leaving', async () => {
    const { session } = await goLive(server.baseUrl);
    const first = await watch(session.session_id, (await register(server.baseUrl)).token);
    const second = await watch(session.session_id, (await register(server.baseUrl)).token);
    await first.waitFor((m) => m.type === 'viewer_count' && m.count === 2);
    const seen = first.messages.length;
    second.close();
    await first.waitFor((m) => m.type === 'viewer_count' && m.count === 1, 5_000, seen);
  });

  test('the vendor is not counted as a viewer nor in unique views', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const vendorSocket = await watch(session.session_id, vendor.token);
    assert.deepEqual(vendorSocket.messages.slice(0, 2), [
      { type: 'viewer_count', count: 0 },
      { type: 'views_total', total: 0 },
    ]);
    const viewer = await watch(session.session_id, (await register(server.baseUrl)).token);
    assert.equal(viewer.messages[0].count, 1);
    await vendorSocket.waitFor((m) => m.type === 'viewer_count' && m.count === 1);
    await vendorSocket.waitFor((m) => m.type === 'views_total' && m.total === 1);
    const rest = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.equal(rest.body.viewer_count, 1);
    assert.equal(rest.body.views_total, 1);
  });

  test('a session read just before a viewer joins shows that viewer on the next read', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const vendorSocket = await watch(session.session_id, vendor.token);
    const read = () => call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.equal((await read()).body.views_total, 0);
    await watch(session.session_id, (await register(server.baseUrl)).token);
    await vendorSocket.waitFor((m) => m.type === 'views_total' && m.total === 1);
    const after = await read();
    assert.equal(after.body.views_total, 1);
    assert.equal(after.body.viewer_count, 1);
  });

  test('a user with two tabs counts two connections but one unique view', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    await watch(session.session_id, viewer.token);
    const second = await watch(session.session_id, viewer.token);
    assert.deepEqual(second.messages.slice(0, 2), [
      { type: 'viewer_count', count: 2 },
      { type: 'views_total', total: 1 },
    ]);
  });

  test('REST session objects carry the live viewer_count', async () => {
    const { session } = await goLive(server.baseUrl);
    await watch(session.session_id, (await register(server.baseUrl)).token);
    await watch(session.session_id, (await register(server.baseUrl)).token);
    const one = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.equal(one.body.viewer_count, 2);
    const active = await call(server.baseUrl, 'GET', '/live/sessions/active?limit=200');
    const listed = active.body.items.find((s: any) => s.session_id === session.session_id);
    assert.equal(listed.viewer_count, 2);
  });

  test('viewers joining at once are each counted once in views_total', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const vendorSocket = await watch(session.session_id, vendor.token);
    const users = await Promise.all(Array.from({ length: 25 }, () => register(server.baseUrl)));
    // Two tabs each for the first five: still 25 unique viewers.
    const tokens = [...users, ...users.slice(0, 5)].map((u) => u.token);
    const sockets = await Promise.all(tokens.map((t) => watch(session.session_id, t)));
    await vendorSocket.waitFor((m) => m.type === 'views_total' && m.total === 25);
    const rest = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.equal(rest.body.views_total, 25);
    assert.ok(sockets.every((s) => s.messages[1].total >= 1 && s.messages[1].total <= 25));
  });

  test('views_total never goes backwards for any viewer, however they join', async () => {
    for (let round = 0; round < 8; round++) {
      const { vendor, session } = await goLive(server.baseUrl);
      const vendorSocket = await watch(session.session_id, vendor.token);
      const users = await Promise.all(
        Array.from({ length: round % 2 ? 12 : 1 }, () => register(server.baseUrl)),
      );
      const sockets = await Promise.all(users.map((u) => watch(session.session_id, u.token)));
      await vendorSocket.waitFor((m) => m.type === 'views_total' && m.total === users.length);
      await sleep(250);
      for (const socket of [vendorSocket, ...sockets]) {
        const seen = socket.ofType('views_total').map((m) => m.total);
        assert.deepEqual(
          seen,
          [...seen].sort((a, b) => a - b),
          `views_total went backwards: ${JSON.stringify(socket.messages)}`,
        );
      }
      for (const socket of [vendorSocket, ...sockets]) socket.close();
    }
  });

  test('a viewer connecting right after the end is closed with 4410 while others watch', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const watching = await watch(session.session_id, (await register(server.baseUrl)).token);
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    assert.equal(await watching.closeCode(), 1000);
    const late = await open(`/ws/live/${session.session_id}?token=${(await register(server.baseUrl)).token}`);
    assert.equal(await late.closeCode(), 4410);
    assert.equal(late.messages.length, 0);
  });

  test('a viewer connecting right after the end is closed with 4410 even when nobody was watching', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    // A viewer came and went: the session's facts are cached as live, and no room hears the end.
    const gone = await watch(session.session_id, (await register(server.baseUrl)).token);
    gone.close();
    await gone.closed;
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    const late = await open(`/ws/live/${session.session_id}?token=${(await register(server.baseUrl)).token}`);
    assert.equal(await late.closeCode(), 4410);
    assert.equal(
      late.messages.length,
      0,
      `no opening events for an ended session: ${JSON.stringify(late.messages)}`,
    );
  });

  test('ending the session sends session_ended, then closes every socket with 1000', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const viewers = [
      await watch(session.session_id, (await register(server.baseUrl)).token),
      await watch(session.session_id, (await register(server.baseUrl)).token),
    ];
    const ended = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, {
      token: vendor.token,
    });
    for (const socket of viewers) {
      assert.equal(await socket.closeCode(), 1000);
      const last = socket.messages.at(-1);
      assert.equal(last.type, 'session_ended');
      assert.equal(last.ended_at, ended.body.ended_at);
      assert.equal(last.live_duration_seconds, ended.body.live_duration_seconds);
    }
  });

  test('viewer_count events are coalesced to one per interval and the last value is delivered', async () => {
    const { session } = await goLive(server.baseUrl);
    const watcher = await watch(session.session_id, (await register(server.baseUrl)).token);
    const start = watcher.messages.length;
    const token = (await register(server.baseUrl)).token;
    const joiners = await Promise.all(Array.from({ length: 30 }, () => watch(session.session_id, token)));
    await watcher.waitFor((m) => m.type === 'viewer_count' && m.count === 31, 5_000, start);
    await sleep(300);
    const counts = watcher.messages.slice(start).filter((m) => m.type === 'viewer_count');
    // 30 joins within a few intervals of 100 ms: far fewer events than joins, and the last is 31.
    assert.ok(counts.length < 15, `expected coalesced counts, got ${counts.length}`);
    assert.equal(counts.at(-1).count, 31);
    for (const j of joiners) j.close();
  });
});

describe('/ws/live heartbeat and slow readers', () => {
  let server: RunningApp;
  before(async () => {
    server = await startApp({
      env: {
        WS_HEARTBEAT_MS: '200',
        VIEWER_COUNT_INTERVAL_MS: '50',
        WS_MAX_BUFFERED_BYTES: String(64 * 1024),
      },
    });
  });
  after(async () => server.close());

  test('a peer that does not answer pings is dropped and stops counting', async () => {
    const { session } = await goLive(server.baseUrl);
    const healthy = await TestSocket.open(
      `${server.wsUrl}/ws/live/${session.session_id}?token=${(await register(server.baseUrl)).token}`,
    );
    const silent = await TestSocket.open(
      `${server.wsUrl}/ws/live/${session.session_id}?token=${(await register(server.baseUrl)).token}`,
      { autoPong: false },
    );
    await healthy.waitFor((m) => m.type === 'viewer_count' && m.count === 2);
    const closed = await silent.closeCode(3_000);
    assert.equal(closed, 1006, 'the silent peer is terminated, not closed politely');
    await healthy.waitFor((m) => m.type === 'viewer_count' && m.count === 1, 3_000);
    assert.equal(healthy.ws.readyState, 1, 'a peer that answers pings stays');
    healthy.close();
  });

  test('a peer that stops reading is dropped before its buffer passes the bound, and others keep receiving', async () => {
    const { session } = await goLive(server.baseUrl);
    const reader = await TestSocket.open(
      `${server.wsUrl}/ws/live/${session.session_id}?token=${(await register(server.baseUrl)).token}`,
    );
    const stalled = await TestSocket.open(
      `${server.wsUrl}/ws/live/${session.session_id}?token=${(await register(server.baseUrl)).token}`,
    );
    await reader.waitForType('session_info');
    await stalled.waitForType('session_info');
    // The stalled client stops reading from its TCP socket, so the server's writes back up.
    (stalled.ws as any)._socket.pause();

    const { liveHub } = server.app.realtime;
    const bound = server.config.realtime.maxBufferedBytes;
    const message = 'y'.repeat(4_000);
    let maxBuffered = 0;
    assert.equal(liveHub.stats().peers, 2);
    for (let i = 0; i < 5_000; i++) {
      liveHub.commentPosted({
        id: crypto.randomUUID(),
        session_id: session.session_id,
        user_id: 'x',
        user_name: 'bench',
        message: `${i} ${message}`,
        ts: new Date().toISOString(),
        offset: i + 1,
      });
      maxBuffered = Math.max(maxBuffered, liveHub.stats().bufferedBytes);
      if (i % 50 === 0) await sleep(1);
    }
    await eventually(() => liveHub.stats().peers === 1, 'the stalled peer is dropped');
    // One message may be queued past the bound before the check that drops the peer.
    assert.ok(maxBuffered <= bound + 5_000, `buffered ${maxBuffered} bytes with a bound of ${bound}`);
    await reader.waitFor((m) => m.type === 'comment' && m.message.startsWith('4999 '), 10_000);
    assert.equal(reader.ofType('comment').length, 5_000, 'the reading peer got every message');
    reader.close();
  });
});
