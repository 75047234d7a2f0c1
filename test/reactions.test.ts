/**
 * Reactions: viewers' taps, aggregated so that many tapping cost the fan-out of one. Two
 * instances sharing PostgreSQL and Redis: every viewer on either hears every tap, summed, in at
 * most one `reactions` event a second; one user counts at most 10 a second; the totals are kept
 * and agree with the stats and the `session.ended` figures once the session ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { REACTIONS_PER_USER_PER_SECOND, REACTIONS_WINDOW_MS } from '../src/contract/reactions.js';
import { startPair, type RunningApp, type RunningPair } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres, needsRedis } from './support/services.js';
import { SocketPool, type TestSocket } from './support/ws.js';

/** Counts per kind added up over every `reactions` event a socket heard. */
function heard(socket: TestSocket): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const event of socket.ofType('reactions')) {
    for (const [kind, n] of Object.entries(event.counts as Record<string, number>))
      sum[kind] = (sum[kind] ?? 0) + n;
  }
  return sum;
}

/** When each `reactions` event reached the socket (ms, this process's clock). */
function arrivals(socket: TestSocket): number[] {
  const times: number[] = [];
  socket.ws.on('message', (data) => {
    if ((data as Buffer).toString().startsWith('{"type":"reactions"')) times.push(performance.now());
  });
  return times;
}

describe('reactions', { skip: needsPostgres() ?? needsRedis() }, () => {
  let pair: RunningPair;
  let a: RunningApp;
  let b: RunningApp;
  const sockets = new SocketPool();

  before(async () => {
    pair = await startPair('sm-reactions');
    ({ a, b } = pair);
  });
  after(async () => {
    sockets.closeAll();
    await pair?.close();
  });

  const watch = async (server: RunningApp, sessionId: string, token: string) => {
    const socket = await sockets.open(`${server.wsUrl}/ws/live/${sessionId}?token=${token}`);
    await socket.waitForType('session_info');
    return socket;
  };

  test('50 viewers over two instances send 5 hearts each: every viewer hears exactly 250, at most one event a second', async () => {
    const { session } = await goLive(a.baseUrl);
    const users = await Promise.all(Array.from({ length: 50 }, () => register(a.baseUrl)));
    const viewers = await Promise.all(users.map((u, i) => watch(i % 2 ? b : a, session.session_id, u.token)));
    const times = viewers.map(arrivals);
    for (const viewer of viewers)
      for (let i = 0; i < 5; i++) viewer.send({ type: 'reaction', kind: 'heart' });
    const sent = performance.now();
    await Promise.all(viewers.map((v) => v.waitFor(() => (heard(v).heart ?? 0) >= 250, 3_000)));
    assert.ok(performance.now() - sent <= 3_000);
    for (const [i, viewer] of viewers.entries()) {
      assert.deepEqual(heard(viewer), { heart: 250 });
      const gaps = times[i]!.slice(1).map((t, j) => t - times[i]![j]!);
      // The server spaces them a window apart; allow for delivery jitter on a loaded machine.
      assert.ok(
        gaps.every((gap) => gap >= REACTIONS_WINDOW_MS - 150),
        `gaps ${gaps.join(', ')}`,
      );
    }
  });

  /** Sends `send()`, then a marker tap from another user on the same instance: once the listener
   * hears the marker, it heard everything counted before it. */
  const countedBefore = async (listener: TestSocket, send: () => Promise<unknown>, marker: TestSocket) => {
    const started = performance.now();
    await send();
    const ms = performance.now() - started;
    marker.send({ type: 'reaction', kind: 'heart' });
    await listener.waitFor(() => heard(listener).heart === 1, 3_000);
    return { fire: heard(listener).fire ?? 0, ms };
  };

  test('one user sending 100 in a second over REST counts at most 10, each answered 204', async () => {
    const { session } = await goLive(a.baseUrl);
    const [tapper, marker, watcher] = await Promise.all([1, 2, 3].map(() => register(a.baseUrl)));
    const markerSocket = await watch(a, session.session_id, marker!.token);
    const listener = await watch(b, session.session_id, watcher!.token);
    const statuses: number[] = [];
    const { fire, ms } = await countedBefore(
      listener,
      () =>
        Promise.all(
          Array.from({ length: 100 }, async () => {
            const res = await call(a.baseUrl, 'POST', `/live/sessions/${session.session_id}/reactions`, {
              token: tapper!.token,
              body: { kind: 'fire' },
            });
            statuses.push(res.status);
          }),
        ),
      markerSocket,
    );
    assert.deepEqual([...new Set(statuses)], [204]);
    assert.ok(fire >= 1, 'the burst was counted');
    assert.ok(
      fire <= REACTIONS_PER_USER_PER_SECOND * Math.ceil(ms / 1000),
      `${fire} counted of 100 in ${ms} ms`,
    );
  });

  test('a burst on the socket counts at most 10 a second, and the socket stays open', async () => {
    const { session } = await goLive(a.baseUrl);
    const [tapper, marker, watcher] = await Promise.all([1, 2, 3].map(() => register(a.baseUrl)));
    const socket = await watch(a, session.session_id, tapper!.token);
    const markerSocket = await watch(a, session.session_id, marker!.token);
    const listener = await watch(b, session.session_id, watcher!.token);
    const { fire, ms } = await countedBefore(
      listener,
      async () => {
        // Inside the socket's burst allowance (docs/hardening.md); the reactions' own budget drops the rest.
        for (let i = 0; i < 25; i++) socket.send({ type: 'reaction', kind: 'fire' });
        socket.send({ type: 'ping' });
        await socket.waitForType('pong');
      },
      markerSocket,
    );
    assert.ok(
      fire >= 1 && fire <= REACTIONS_PER_USER_PER_SECOND * Math.ceil(ms / 1000),
      `${fire} in ${ms} ms`,
    );
  });

  test('an unknown kind is an error event on the socket, which stays open, and 422 over REST', async () => {
    const { session } = await goLive(a.baseUrl);
    const viewer = await register(a.baseUrl);
    const socket = await watch(a, session.session_id, viewer.token);
    socket.send({ type: 'reaction', kind: 'thumbs' });
    const error = await socket.waitForType('error');
    assert.equal(error.code, 'invalid_message');
    socket.send({ type: 'ping' });
    await socket.waitForType('pong');
    const rest = await call(a.baseUrl, 'POST', `/live/sessions/${session.session_id}/reactions`, {
      token: viewer.token,
      body: { kind: 'thumbs' },
    });
    assert.equal(rest.status, 422);
  });

  test('over REST a reaction is 204 and reaches the viewers; 401 without a token, 404 unknown, 409 ended', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const viewer = await register(a.baseUrl);
    const socket = await watch(b, session.session_id, viewer.token);
    const react = (sessionId: string, token?: string) =>
      call(a.baseUrl, 'POST', `/live/sessions/${sessionId}/reactions`, { token, body: { kind: 'clap' } });
    assert.equal((await react(session.session_id, viewer.token)).status, 204);
    assert.equal((await react(session.session_id, vendor.token)).status, 204, "the vendor's taps count too");
    await socket.waitFor(() => heard(socket).clap === 2, 3_000);
    assert.equal((await react(session.session_id)).status, 401);
    assert.equal((await react(crypto.randomUUID(), viewer.token)).status, 404);
    await call(a.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    assert.equal((await react(session.session_id, viewer.token)).status, 409);
  });

  test('the totals open every new socket and, after the end, agree with the stats', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const users = await Promise.all(Array.from({ length: 3 }, () => register(a.baseUrl)));
    const tappers = await Promise.all(users.map((u, i) => watch(i % 2 ? b : a, session.session_id, u.token)));
    for (const t of tappers) {
      t.send({ type: 'reaction', kind: 'wow' });
      t.send({ type: 'reaction', kind: 'laugh' });
    }
    await Promise.all(tappers.map((t) => t.waitFor(() => heard(t).wow === 3 && heard(t).laugh === 3, 3_000)));
    const late = await register(a.baseUrl);
    const expected = { heart: 0, laugh: 3, wow: 3, clap: 0, fire: 0 };
    let info: any;
    // The totals are written a moment after the taps are shown.
    for (let tries = 0; tries < 50; tries++) {
      const socket = await watch(b, session.session_id, late.token);
      info = socket.ofType('session_info')[0];
      socket.close();
      if (info.reactions_total.wow === 3 && info.reactions_total.laugh === 3) break;
      await socket.closed;
    }
    assert.deepEqual(info.reactions_total, expected);
    const ended = await call(a.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, {
      token: vendor.token,
    });
    assert.deepEqual(ended.body.stats.reactions, expected);
    const fetched = await call(b.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.deepEqual(fetched.body.stats.reactions, expected);
  });
});
