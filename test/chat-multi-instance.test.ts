/**
 * Two instances sharing PostgreSQL and Redis: every moderation action reaches the viewers of both,
 * a ban made on one holds on the other (also once the other keeps the vendor's rules in its
 * cache), and a viewer recovers on the other instance.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../src/db/store.js';
import { RULES_RECHECK_MS } from '../src/live/chat-rules.js';
import { startPair, type RunningApp, type RunningPair } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres, needsRedis } from './support/services.js';
import { eventually, TestSocket } from './support/ws.js';

describe('chat moderation across two instances', { skip: needsPostgres() ?? needsRedis() }, () => {
  let pair: RunningPair;
  let a: RunningApp;
  let b: RunningApp;
  const sockets: TestSocket[] = [];

  before(async () => {
    pair = await startPair('sm-chat');
    ({ a, b } = pair);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await pair?.close();
  });

  const watch = async (server: RunningApp, sessionId: string, token: string, since?: number) => {
    const query = since === undefined ? '' : `&since=${since}`;
    const socket = await TestSocket.open(`${server.wsUrl}/ws/live/${sessionId}?token=${token}${query}`);
    sockets.push(socket);
    await socket.waitForType('session_info');
    return socket;
  };

  test('delete, pin, unpin and slow mode made on one instance reach viewers on both', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const id = session.session_id;
    const viewer = await register(a.baseUrl);
    const onA = await watch(a, id, viewer.token);
    const onB = await watch(b, id, viewer.token);
    const posted = await call(b.baseUrl, 'POST', `/live/sessions/${id}/comments`, {
      token: viewer.token,
      body: { message: 'on b' },
    });
    const other = await call(a.baseUrl, 'POST', `/live/sessions/${id}/comments`, {
      token: viewer.token,
      body: { message: 'on a' },
    });
    await call(a.baseUrl, 'PUT', `/live/sessions/${id}/pin`, {
      token: vendor.token,
      body: { comment_id: other.body.id },
    });
    await call(b.baseUrl, 'DELETE', `/live/sessions/${id}/comments/${posted.body.id}`, {
      token: vendor.token,
    });
    await call(b.baseUrl, 'PATCH', `/live/sessions/${id}/chat`, {
      token: vendor.token,
      body: { slow_mode_seconds: 5 },
    });
    await call(a.baseUrl, 'DELETE', `/live/sessions/${id}/pin`, { token: vendor.token });
    for (const socket of [onA, onB]) {
      await socket.waitFor((m) => m.type === 'comment_unpinned');
      const types = socket.messages
        .filter((m) => m.offset !== undefined && m.type !== 'session_info')
        .map((m) => [m.type, m.offset]);
      assert.deepEqual(
        types.map(([type]) => type),
        ['comment', 'comment', 'comment_pinned', 'comment_deleted', 'chat_settings', 'comment_unpinned'],
      );
      assert.deepEqual(
        types.map(([, offset]) => offset),
        [1, 2, 3, 4, 5, 6],
      );
    }
  });

  test('a ban made on one instance holds on the other, over REST and the socket', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const id = session.session_id;
    const viewer = await register(a.baseUrl);
    const onB = await watch(b, id, viewer.token);
    const ban = await call(a.baseUrl, 'POST', `/live/sessions/${id}/bans`, {
      token: vendor.token,
      body: { user_id: viewer.user.id, duration_seconds: 60 },
    });
    assert.equal(ban.status, 200);
    const rest = await call(b.baseUrl, 'POST', `/live/sessions/${id}/comments`, {
      token: viewer.token,
      body: { message: 'from b' },
    });
    assert.equal(rest.status, 403);
    onB.send({ type: 'comment', message: 'socket on b' });
    const error = await onB.waitForType('error');
    assert.deepEqual([error.code, error.until], ['banned', ban.body.until]);
  });

  test('rules changed on one instance hold on the next comment on the other, which had read them', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const id = session.session_id;
    const [viewer, helper] = await Promise.all([register(a.baseUrl), register(a.baseUrl)]);
    const postOnB = (token: string, message: string) =>
      call(b.baseUrl, 'POST', `/live/sessions/${id}/comments`, { token, body: { message } });
    // B reads (and keeps) the vendor's rules for this first comment.
    assert.equal((await postOnB(viewer.token, 'a scam? no')).status, 200);

    const terms = await call(a.baseUrl, 'PUT', '/me/blocked-terms', {
      token: vendor.token,
      body: { terms: ['scam'] },
    });
    assert.equal(terms.status, 200);
    assert.equal((await postOnB(viewer.token, 'a scam')).status, 422);

    await call(a.baseUrl, 'PATCH', `/live/sessions/${id}/chat`, {
      token: vendor.token,
      body: { slow_mode_seconds: 60 },
    });
    assert.equal((await postOnB(helper.token, 'first')).status, 200);
    assert.equal((await postOnB(helper.token, 'second')).status, 429);
    const appointed = await call(a.baseUrl, 'PUT', `/me/moderators/${helper.user.id}`, {
      token: vendor.token,
    });
    assert.equal(appointed.status, 200);
    assert.equal((await postOnB(helper.token, 'a moderator is not slowed')).status, 200, 'moderator exempt');
    await call(a.baseUrl, 'PATCH', `/live/sessions/${id}/chat`, {
      token: vendor.token,
      body: { slow_mode_seconds: 0 },
    });

    const ban = await call(a.baseUrl, 'POST', `/live/sessions/${id}/bans`, {
      token: vendor.token,
      body: { user_id: viewer.user.id },
    });
    assert.equal(ban.status, 200);
    assert.equal((await postOnB(viewer.token, 'still here?')).status, 403);
    const lifted = await call(a.baseUrl, 'DELETE', `/live/sessions/${id}/bans/${viewer.user.id}`, {
      token: vendor.token,
    });
    assert.equal(lifted.status, 204);
    assert.equal((await postOnB(viewer.token, 'back')).status, 200);
  });

  test('a ban written to the database behind the API holds within RULES_RECHECK_MS', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const id = session.session_id;
    const viewer = await register(a.baseUrl);
    const post = (message: string) =>
      call(b.baseUrl, 'POST', `/live/sessions/${id}/comments`, { token: viewer.token, body: { message } });
    assert.equal((await post('hello')).status, 200);
    const store = await openStore({ databaseUrl: pair.databaseUrl, dataDir: 'memory://' });
    try {
      await store.db
        .insertInto('bans')
        .values({
          vendor_id: vendor.user.id,
          user_id: viewer.user.id,
          until: null,
          created_by: vendor.user.id,
        })
        .execute();
    } finally {
      await store.close();
    }
    let n = 0;
    // The bound, plus room for the requests of a loaded machine.
    await eventually(
      async () => (await post(`try ${n++}`)).status === 403,
      'the ban holds',
      RULES_RECHECK_MS + 1000,
    );
  });

  test('a viewer cut from one instance recovers on the other', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const id = session.session_id;
    const viewer = await register(a.baseUrl);
    const first = await watch(a, id, viewer.token);
    const c1 = await call(a.baseUrl, 'POST', `/live/sessions/${id}/comments`, {
      token: vendor.token,
      body: { message: 'seen' },
    });
    await first.waitFor((m) => m.type === 'comment' && m.id === c1.body.id);
    first.ws.terminate();
    for (let i = 0; i < 5; i++) {
      await call(a.baseUrl, 'POST', `/live/sessions/${id}/comments`, {
        token: vendor.token,
        body: { message: `missed ${i}` },
      });
    }
    const back = await watch(b, id, viewer.token, c1.body.offset);
    const recovered = await back.waitForType('recovered');
    assert.deepEqual(recovered, { type: 'recovered', offset: c1.body.offset + 5, complete: true });
    assert.deepEqual(
      back.ofType('comment').map((m) => m.message),
      ['missed 0', 'missed 1', 'missed 2', 'missed 3', 'missed 4'],
    );
  });
});
