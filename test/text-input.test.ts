/**
 * Text from clients: lengths count characters (code points) as people and the original do, and a
 * string PostgreSQL cannot store (NUL, an unpaired surrogate) is a 422 at its field, never a 500.
 * Run on both stores.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres } from './support/services.js';
import { TestSocket } from './support/ws.js';

const NUL = 'a\u0000b';
const LONE_SURROGATE = 'a\uD83Db';

for (const kind of ['pglite', 'postgres'] as const) {
  describe(`text input on ${kind}`, { skip: kind === 'postgres' ? needsPostgres() : undefined }, () => {
    let server: RunningApp;
    const sockets: TestSocket[] = [];
    before(async () => {
      server = await startApp({ store: kind });
    });
    after(async () => {
      for (const s of sockets) s.close();
      await server.close();
    });

    const postComment = async (message: string) => {
      const { session } = await goLive(server.baseUrl);
      const viewer = await register(server.baseUrl);
      const res = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
        token: viewer.token,
        body: { message },
      });
      return { res, session, viewer };
    };

    const assert422At = (res: { status: number; body: any }, loc: string[], pattern: RegExp) => {
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.deepEqual(res.body.detail[0].loc, loc);
      assert.match(res.body.detail[0].msg, pattern);
    };

    test('a comment of 501 emoji (1002 UTF-16 units) is accepted and stored whole', async () => {
      const message = '😀'.repeat(501);
      const { res, session } = await postComment(message);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const list = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}/comments`);
      assert.equal(list.body.items[0].message, message);
    });

    test('a comment of 1000 emoji is accepted and 1001 is refused as over 1000 characters', async () => {
      assert.equal((await postComment('😀'.repeat(1000))).res.status, 200);
      assert422At((await postComment('😀'.repeat(1001))).res, ['body', 'message'], /at most 1000 characters/);
    });

    test('a comment with a NUL character is a 422 at message', async () => {
      const { res, session } = await postComment(NUL);
      assert422At(res, ['body', 'message'], /NUL/);
      const list = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}/comments`);
      assert.deepEqual(list.body.items, []);
    });

    test('a comment with an unpaired surrogate is a 422 at message', async () => {
      assert422At((await postComment(LONE_SURROGATE)).res, ['body', 'message'], /surrogate/);
    });

    test('a session title with a NUL character is a 422 at title', async () => {
      const vendor = await register(server.baseUrl, 'vendor');
      const res = await call(server.baseUrl, 'POST', '/live/sessions', {
        token: vendor.token,
        body: { title: NUL },
      });
      assert422At(res, ['body', 'title'], /NUL/);
    });

    test('a name or email with a NUL character is a 422 at that field on register and login', async () => {
      const register = (body: object) => call(server.baseUrl, 'POST', '/auth/register', { body });
      const ok = { email: `nul-${Date.now()}@example.com`, name: 'ok', password: 'pw' };
      assert422At(await register({ ...ok, name: NUL }), ['body', 'name'], /NUL/);
      assert422At(await register({ ...ok, password: NUL }), ['body', 'password'], /NUL/);
      const login = await call(server.baseUrl, 'POST', '/auth/login', {
        body: { email: `a\u0000@example.com`, password: 'pw' },
      });
      assert422At(login, ['body', 'email'], /NUL/);
    });

    test('over /ws/live, NUL is invalid_message and 501 emoji are accepted, the socket kept', async () => {
      const { session } = await goLive(server.baseUrl);
      const viewer = await register(server.baseUrl);
      const socket = await TestSocket.open(
        `${server.wsUrl}/ws/live/${session.session_id}?token=${viewer.token}`,
      );
      sockets.push(socket);
      await socket.waitForType('session_info');
      socket.send({ type: 'comment', message: NUL });
      const error = await socket.waitForType('error');
      assert.equal(error.code, 'invalid_message');
      assert.match(error.detail, /NUL/);
      socket.send({ type: 'comment', message: '😀'.repeat(501) });
      const comment = await socket.waitForType('comment');
      assert.equal(comment.message, '😀'.repeat(501));
    });
  });
}
