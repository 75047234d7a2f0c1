/**
 * Recovery on /ws/live: every comment and chat event has an increasing per-session offset, and a
 * client reconnecting with `?since=<offset>` is replayed what it missed, in order, without gap or
 * duplicate, then `recovered`; too much missed, or an offset the session never had, answers
 * `complete: false` and replays nothing. A comment deleted since is replayed as its deletion:
 * neither it nor a pin of it carries its text or author again, on either store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MAX_REPLAY } from '../src/live/chat-log.js';
import { startApp, type RunningApp, type StoreKind } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres } from './support/services.js';
import { sleep, TestSocket } from './support/ws.js';

/** The message types that carry an offset. */
const CHAT_EVENTS = new Set([
  'comment',
  'comment_deleted',
  'comment_pinned',
  'comment_unpinned',
  'chat_settings',
]);
const chatEvents = (socket: TestSocket) => socket.messages.filter((m) => CHAT_EVENTS.has(m.type));

describe('recovery with ?since=', { skip: needsPostgres() }, () => {
  let server: RunningApp;
  const sockets: TestSocket[] = [];

  before(async () => {
    server = await startApp({ store: 'postgres', env: { RATE_LIMITS: 'off' } });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server?.close();
  });

  const open = async (sessionId: string, token: string, since?: number | string) => {
    const query = since === undefined ? '' : `&since=${since}`;
    const socket = await TestSocket.open(`${server.wsUrl}/ws/live/${sessionId}?token=${token}${query}`);
    sockets.push(socket);
    await socket.waitForType('session_info');
    return socket;
  };
  const post = async (sessionId: string, token: string, message: string) => {
    const res = await call(server.baseUrl, 'POST', `/live/sessions/${sessionId}/comments`, {
      token,
      body: { message },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  test('a cut viewer gets exactly what it missed, in order, then recovered, then live events', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const id = session.session_id;
    const viewer = await register(server.baseUrl);
    const first = await open(id, viewer.token);
    await post(id, vendor.token, 'before the cut');
    const seen = await first.waitForType('comment');
    // Cut without a close frame, as a phone leaving the network.
    first.ws.terminate();

    const posted = [];
    for (let i = 0; i < 100; i++) posted.push(await post(id, vendor.token, `missed ${i}`));
    for (const c of posted.slice(10, 13)) {
      const res = await call(server.baseUrl, 'DELETE', `/live/sessions/${id}/comments/${c.id}`, {
        token: vendor.token,
      });
      assert.equal(res.status, 204);
    }
    await call(server.baseUrl, 'PUT', `/live/sessions/${id}/pin`, {
      token: vendor.token,
      body: { comment_id: posted[50].id },
    });

    const back = await open(id, viewer.token, seen.offset);
    const recovered = await back.waitForType('recovered');
    const replayed = chatEvents(back);
    assert.equal(replayed.length, 104);
    // The three deleted comments are replayed as their deletion (issue 26: never their text).
    assert.deepEqual(
      replayed.map((m) => m.type),
      [
        ...Array(10).fill('comment'),
        'comment_deleted',
        'comment_deleted',
        'comment_deleted',
        ...Array(87).fill('comment'),
        'comment_deleted',
        'comment_deleted',
        'comment_deleted',
        'comment_pinned',
      ],
    );
    assert.deepEqual(
      replayed.slice(0, 100).map((m) => m.message ?? m.id),
      posted.map((c, i) => (i >= 10 && i < 13 ? c.id : c.message)),
    );
    assert.deepEqual(
      replayed.map((m) => m.offset),
      replayed.map((_, i) => seen.offset + 1 + i),
    );
    assert.deepEqual(recovered, { type: 'recovered', offset: seen.offset + 104, complete: true });
    // The opening came first, the replay after it, recovered last.
    const types = back.messages.map((m) => m.type);
    assert.deepEqual(types.slice(0, 3), ['viewer_count', 'views_total', 'session_info']);
    assert.ok(types.indexOf('recovered') > types.lastIndexOf('comment_pinned'));

    const live = await post(id, vendor.token, 'after recovery');
    const arrived = await back.waitFor((m) => m.type === 'comment' && m.id === live.id);
    assert.equal(arrived.offset, recovered.offset + 1);
    await sleep(100);
    assert.equal(chatEvents(back).length, 105, 'nothing twice');
  });

  test('events published while the replay runs arrive once each, with no gap', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const id = session.session_id;
    const viewer = await register(server.baseUrl);
    for (let i = 0; i < 150; i++) await post(id, vendor.token, `history ${i}`);
    const posters = await Promise.all(Array.from({ length: 4 }, () => register(server.baseUrl)));
    let posting = true;
    const streams = posters.map(async (p, n) => {
      for (let i = 0; posting; i++) await post(id, p.token, `during ${n}.${i}`);
    });
    await sleep(50);
    const back = await open(id, viewer.token, 20);
    await back.waitForType('recovered');
    await sleep(300);
    posting = false;
    await Promise.all(streams);
    const last = await post(id, vendor.token, 'the last one');
    await back.waitFor((m) => m.type === 'comment' && m.id === last.id);
    const offsets = chatEvents(back).map((m) => m.offset);
    assert.ok(offsets.length > 130, `replayed and live: ${offsets.length}`);
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => 21 + i),
      'every offset from since+1 to the last, once each, in order',
    );
  });

  test(`more than ${MAX_REPLAY} missed: complete false and nothing replayed`, async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const id = session.session_id;
    for (let i = 0; i < MAX_REPLAY + 1; i++) await post(id, vendor.token, `flood ${i}`);
    const back = await open(id, vendor.token, 0);
    assert.deepEqual(await back.waitForType('recovered'), { type: 'recovered', offset: 0, complete: false });
    assert.equal(chatEvents(back).length, 0);
    // Exactly MAX_REPLAY missed is still replayed.
    const exactly = await open(id, vendor.token, 1);
    assert.equal((await exactly.waitForType('recovered')).complete, true);
    assert.equal(chatEvents(exactly).length, MAX_REPLAY);
  });

  test('an offset the session never had is unknown: complete false', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const id = session.session_id;
    await post(id, vendor.token, 'one');
    for (const since of [2, 999, -1, 'abc']) {
      const back = await open(id, vendor.token, since);
      assert.equal((await back.waitForType('recovered')).complete, false, String(since));
      assert.equal(chatEvents(back).length, 0);
    }
  });

  test('nothing missed: recovered at since, complete', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const id = session.session_id;
    const c = await post(id, vendor.token, 'only');
    const back = await open(id, vendor.token, c.offset);
    assert.deepEqual(await back.waitForType('recovered'), {
      type: 'recovered',
      offset: c.offset,
      complete: true,
    });
    assert.deepEqual(
      chatEvents(back).filter((m) => m.offset <= c.offset),
      [],
    );
  });

  test('a client without since (the original) gets no recovered message, and session_info carries the offset', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const id = session.session_id;
    const c = await post(id, vendor.token, 'x');
    const plain = await open(id, vendor.token);
    assert.equal(plain.ofType('session_info')[0].offset, c.offset);
    await sleep(150);
    assert.equal(plain.ofType('recovered').length, 0);
  });

  test('GET comments?after=<offset> lists the comments after it, oldest first', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const id = session.session_id;
    const posted = [];
    for (let i = 0; i < 5; i++) posted.push(await post(id, vendor.token, `c${i}`));
    const res = await call(
      server.baseUrl,
      'GET',
      `/live/sessions/${id}/comments?after=${posted[1].offset}&limit=2`,
    );
    assert.deepEqual(
      res.body.items.map((c: any) => c.message),
      ['c2', 'c3'],
    );
  });
});

for (const store of ['postgres', 'pglite'] as StoreKind[]) {
  describe(
    `a deleted comment in a replay, on ${store}`,
    { skip: store === 'postgres' ? needsPostgres() : undefined },
    () => {
      let server: RunningApp;
      const sockets: TestSocket[] = [];
      before(async () => {
        server = await startApp({ store, env: { RATE_LIMITS: 'off' } });
      });
      after(async () => {
        for (const s of sockets) s.close();
        await server?.close();
      });

      test('neither its comment frame nor its pin carries its text or author', async () => {
        const { vendor, session } = await goLive(server.baseUrl);
        const id = session.session_id;
        const doxxer = await register(server.baseUrl, 'user', 'Doxxer Dan');
        const secret = 'his home address is 12 Example Street';
        const posted = await call(server.baseUrl, 'POST', `/live/sessions/${id}/comments`, {
          token: doxxer.token,
          body: { message: secret },
        });
        assert.equal(posted.status, 200);
        const kept = await call(server.baseUrl, 'POST', `/live/sessions/${id}/comments`, {
          token: vendor.token,
          body: { message: 'welcome, everyone' },
        });
        const pin = await call(server.baseUrl, 'PUT', `/live/sessions/${id}/pin`, {
          token: vendor.token,
          body: { comment_id: posted.body.id },
        });
        assert.equal(pin.status, 200);
        const deleted = await call(
          server.baseUrl,
          'DELETE',
          `/live/sessions/${id}/comments/${posted.body.id}`,
          {
            token: vendor.token,
          },
        );
        assert.equal(deleted.status, 204);

        const reader = await register(server.baseUrl);
        const socket = await TestSocket.open(`${server.wsUrl}/ws/live/${id}?token=${reader.token}&since=0`);
        sockets.push(socket);
        const recovered = await socket.waitForType('recovered');
        assert.equal(recovered.complete, true);
        const replayed = chatEvents(socket);
        const everything = JSON.stringify(socket.messages);
        assert.ok(!everything.includes('Example Street'), everything);
        assert.ok(!everything.includes('Doxxer Dan'), everything);
        assert.deepEqual(
          replayed.map((m) => [m.type, m.offset]),
          [
            ['comment_deleted', posted.body.offset],
            ['comment', kept.body.offset],
            ['comment_unpinned', kept.body.offset + 1],
            ['comment_deleted', kept.body.offset + 2],
            ['comment_unpinned', kept.body.offset + 3],
          ],
        );
        assert.equal(replayed[0].id, posted.body.id);
        assert.equal(recovered.offset, kept.body.offset + 3);
      });
    },
  );
}
