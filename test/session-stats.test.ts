/**
 * Session stats: `stats` on an ended session (null while live), `GET /me/sessions` with them,
 * and exact figures under concurrency: the peak of a known join pattern across two instances,
 * comments posted on both instances counted once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApp, startPair, type RunningApp, type RunningPair } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres, needsRedis } from './support/services.js';
import { eventually, TestSocket } from './support/ws.js';

describe('session stats on one instance', () => {
  let server: RunningApp;
  const sockets: TestSocket[] = [];
  before(async () => {
    server = await startApp({ env: { VIEWER_COUNT_INTERVAL_MS: '20' } });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server.close();
  });
  const watch = async (sessionId: string, token: string) => {
    const socket = await TestSocket.open(`${server.wsUrl}/ws/live/${sessionId}?token=${token}`);
    sockets.push(socket);
    await socket.waitForType('session_info');
    return socket;
  };

  test('a live session has stats null', async () => {
    const { session } = await goLive(server.baseUrl);
    const res = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.equal(res.body.stats, null);
    assert.equal((session as { stats?: unknown }).stats, null);
  });

  test('an ended session shows its peak viewers, unique views, comments and duration', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const [ann, bob] = [await register(server.baseUrl), await register(server.baseUrl)];
    const first = await watch(session.session_id, ann.token);
    await watch(session.session_id, ann.token);
    await watch(session.session_id, bob.token);
    await watch(session.session_id, vendor.token);
    await first.waitFor((m) => m.type === 'viewer_count' && m.count === 3);
    for (const message of ['a', 'b', 'c']) {
      await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
        token: bob.token,
        body: { message },
      });
    }
    const ended = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, {
      token: vendor.token,
    });
    const expected = {
      peak_viewers: 3,
      unique_views: 2,
      comments: 3,
      duration_seconds: ended.body.live_duration_seconds,
      reactions: { heart: 0, laugh: 0, wow: 0, clap: 0, fire: 0 },
    };
    assert.deepEqual(ended.body.stats, expected);
    const fetched = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.deepEqual(fetched.body.stats, expected);
  });

  test("GET /me/sessions lists the vendor's ended sessions with stats, newest first, paged", async () => {
    const vendor = await register(server.baseUrl, 'vendor');
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const created = await call(server.baseUrl, 'POST', '/live/sessions', {
        token: vendor.token,
        body: { title: `past ${i}` },
      });
      await call(server.baseUrl, 'POST', `/live/sessions/${created.body.session_id}/end`, {
        token: vendor.token,
      });
      ids.unshift(created.body.session_id as string);
    }
    // Still live: not a past session.
    await call(server.baseUrl, 'POST', '/live/sessions', { token: vendor.token, body: { title: 'now' } });
    const page1 = await call(server.baseUrl, 'GET', '/me/sessions?limit=2', { token: vendor.token });
    assert.equal(page1.status, 200);
    assert.deepEqual(
      page1.body.items.map((s: { session_id: string }) => s.session_id),
      ids.slice(0, 2),
    );
    assert.ok(page1.body.items.every((s: { stats: unknown }) => s.stats !== null));
    const page2 = await call(
      server.baseUrl,
      'GET',
      `/me/sessions?limit=2&cursor=${encodeURIComponent(page1.body.next_cursor)}`,
      { token: vendor.token },
    );
    assert.deepEqual(
      page2.body.items.map((s: { session_id: string }) => s.session_id),
      ids.slice(2),
    );
    assert.equal(page2.body.next_cursor, null);
  });

  test("GET /me/sessions never shows another vendor's sessions", async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    const other = await register(server.baseUrl, 'vendor');
    const res = await call(server.baseUrl, 'GET', '/me/sessions', { token: other.token });
    assert.deepEqual(res.body, { items: [], next_cursor: null });
  });

  test('GET /me/sessions is for vendors: 401 without a token, 403 for a viewer', async () => {
    assert.equal((await call(server.baseUrl, 'GET', '/me/sessions')).status, 401);
    const viewer = await register(server.baseUrl);
    assert.equal((await call(server.baseUrl, 'GET', '/me/sessions', { token: viewer.token })).status, 403);
  });

  test('GET /me/sessions refuses a cursor it never issued with 400', async () => {
    const vendor = await register(server.baseUrl, 'vendor');
    const res = await call(server.baseUrl, 'GET', '/me/sessions?cursor=bm9wZQ', { token: vendor.token });
    assert.equal(res.status, 400);
  });
});

describe('session stats across two instances', { skip: needsPostgres() ?? needsRedis() }, () => {
  let pair: RunningPair;
  let a: RunningApp;
  let b: RunningApp;
  const sockets: TestSocket[] = [];
  before(async () => {
    pair = await startPair('stats', { env: { VIEWER_COUNT_INTERVAL_MS: '20' } });
    ({ a, b } = pair);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await pair?.close();
  });
  const watch = async (on: RunningApp, sessionId: string, token: string) => {
    const socket = await TestSocket.open(`${on.wsUrl}/ws/live/${sessionId}?token=${token}`);
    sockets.push(socket);
    await socket.waitForType('session_info');
    return socket;
  };
  const countIs = (socket: TestSocket, n: number) =>
    socket.waitFor((m) => m.type === 'viewer_count' && m.count === n, 5_000, 0);

  test('peak viewers is the most connections at once across instances, from a known join pattern', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const id = session.session_id;
    const users = await Promise.all([1, 2, 3, 4, 5].map(() => register(a.baseUrl)));
    // 3 on A and 2 on B at once: 5.
    const onA = [];
    for (const u of users.slice(0, 3)) onA.push(await watch(a, id, u.token));
    const onB = [];
    for (const u of users.slice(3)) onB.push(await watch(b, id, u.token));
    const probe = await watch(b, id, vendor.token);
    await countIs(probe, 5);
    // A's three leave; two more join B: 4 at once (B alone has had 4, A 3: neither is the peak).
    for (const s of onA) s.close();
    await countIs(probe, 2);
    for (const u of users.slice(0, 2)) onB.push(await watch(b, id, u.token));
    await eventually(() => probe.ofType('viewer_count').at(-1)?.count === 4, 'B counts 4');
    const ended = await call(a.baseUrl, 'POST', `/live/sessions/${id}/end`, { token: vendor.token });
    assert.equal(ended.body.stats.peak_viewers, 5);
    assert.equal(ended.body.stats.unique_views, 5);
  });

  test('comments posted on both instances at once are counted once each', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const id = session.session_id;
    const ann = await register(a.baseUrl);
    const bob = await register(b.baseUrl);
    const onB = await watch(b, id, bob.token);
    const posts: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i += 1) {
      posts.push(
        call(a.baseUrl, 'POST', `/live/sessions/${id}/comments`, {
          token: ann.token,
          body: { message: `a${i}` },
        }),
      );
      onB.send({ type: 'comment', message: `b${i}` });
    }
    await Promise.all(posts);
    await eventually(() => onB.ofType('comment').length === 20, 'all twenty comments were broadcast');
    const ended = await call(b.baseUrl, 'POST', `/live/sessions/${id}/end`, { token: vendor.token });
    assert.equal(ended.body.stats.comments, 20);
    const fetched = await call(a.baseUrl, 'GET', `/live/sessions/${id}`);
    assert.equal(fetched.body.stats.comments, 20);
  });
});
