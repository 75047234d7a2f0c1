/**
 * Chat the vendor controls: moderators, deleting comments, bans and timeouts, slow mode, blocked
 * terms and the pin, over REST and /ws/live, on PostgreSQL. Multi-instance propagation and
 * recovery have their own files (chat-multi-instance, chat-recovery).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore, type Store } from '../src/db/store.js';
import { startApp, type RunningApp } from './support/app.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres } from './support/services.js';
import { jumpingClock } from './support/clock.js';
import { TestSocket } from './support/ws.js';

type Account = Awaited<ReturnType<typeof register>>;

describe('chat moderation', { skip: needsPostgres() }, () => {
  let database: ThrowawayDatabase;
  let store: Store;
  let server: RunningApp;
  const sockets: TestSocket[] = [];
  // Ban expiry follows the app's clock: the timeout test jumps it instead of sleeping.
  const clock = jumpingClock();

  before(async () => {
    database = await createThrowawayDatabase();
    store = await openStore({ databaseUrl: database.url, dataDir: 'memory://' });
    server = await startApp({ store: 'postgres', deps: { store, clock } });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server?.close();
    await store?.close();
    await database?.drop();
  });

  const api = (method: string, path: string, token?: string, body?: unknown) =>
    call(server.baseUrl, method, path, { token, body });
  const watch = async (sessionId: string, token: string) => {
    const socket = await TestSocket.open(`${server.wsUrl}/ws/live/${sessionId}?token=${token}`);
    sockets.push(socket);
    await socket.waitForType('session_info');
    return socket;
  };
  const comment = async (sessionId: string, who: Account, message: string) =>
    api('POST', `/live/sessions/${sessionId}/comments`, who.token, { message });
  /** A vendor live, with a moderator appointed and a viewer. */
  const chat = async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const [moderator, viewer] = await Promise.all([register(server.baseUrl), register(server.baseUrl)]);
    const appointed = await api('PUT', `/me/moderators/${moderator.user.id}`, vendor.token);
    assert.equal(appointed.status, 200, JSON.stringify(appointed.body));
    return { vendor, moderator, viewer, id: session.session_id };
  };

  describe('moderators', () => {
    test('a vendor appoints, lists and removes moderators', async () => {
      const { vendor, moderator } = await chat();
      const listed = await api('GET', '/me/moderators', vendor.token);
      assert.deepEqual(
        listed.body.items.map((m: any) => [m.user_id, m.name]),
        [[moderator.user.id, moderator.user.name]],
      );
      assert.equal((await api('DELETE', `/me/moderators/${moderator.user.id}`, vendor.token)).status, 204);
      assert.deepEqual((await api('GET', '/me/moderators', vendor.token)).body.items, []);
      assert.equal((await api('DELETE', `/me/moderators/${moderator.user.id}`, vendor.token)).status, 404);
    });

    test('only vendors have moderators, and only existing users can be appointed', async () => {
      const viewer = await register(server.baseUrl);
      assert.equal((await api('GET', '/me/moderators', viewer.token)).status, 403);
      const vendor = await register(server.baseUrl, 'vendor');
      assert.equal((await api('PUT', `/me/moderators/${crypto.randomUUID()}`, vendor.token)).status, 404);
      assert.equal((await api('PUT', '/me/moderators/not-a-user', vendor.token)).status, 404);
    });
  });

  describe('deleting comments', () => {
    test('the author, the vendor and a moderator may delete; viewers hear comment_deleted', async () => {
      const { vendor, moderator, viewer, id } = await chat();
      const watcher = await watch(id, (await register(server.baseUrl)).token);
      for (const actor of [viewer, vendor, moderator]) {
        const posted = await comment(id, viewer, `delete me (${actor.user.name})`);
        const res = await api('DELETE', `/live/sessions/${id}/comments/${posted.body.id}`, actor.token);
        assert.equal(res.status, 204, JSON.stringify(res.body));
        const event = await watcher.waitFor((m) => m.type === 'comment_deleted' && m.id === posted.body.id);
        assert.ok(event.offset > posted.body.offset);
      }
      const list = await api('GET', `/live/sessions/${id}/comments`);
      assert.deepEqual(list.body.items, []);
    });

    test("nobody else may delete another's comment: 403, and the comment stays", async () => {
      const { viewer, id } = await chat();
      const other = await register(server.baseUrl);
      const otherVendor = await goLive(server.baseUrl);
      const posted = await comment(id, viewer, 'mine');
      for (const actor of [other, otherVendor.vendor]) {
        const res = await api('DELETE', `/live/sessions/${id}/comments/${posted.body.id}`, actor.token);
        assert.equal(res.status, 403);
        assert.match(res.body.detail, /author, the host or a moderator/);
      }
      assert.equal((await api('GET', `/live/sessions/${id}/comments`)).body.items.length, 1);
    });

    test('a deletion is kept for audit: who deleted and when', async () => {
      const { moderator, viewer, id } = await chat();
      const posted = await comment(id, viewer, 'audited');
      await api('DELETE', `/live/sessions/${id}/comments/${posted.body.id}`, moderator.token);
      const row = await store.db
        .selectFrom('comments')
        .select(['deleted_at', 'deleted_by'])
        .where('id', '=', posted.body.id)
        .executeTakeFirstOrThrow();
      assert.equal(String(row.deleted_by), String(moderator.user.id));
      assert.ok(row.deleted_at instanceof Date);
      const log = await store.db
        .selectFrom('moderation_log')
        .selectAll()
        .where('comment_id', '=', posted.body.id)
        .execute();
      assert.deepEqual(
        log.map((l) => [l.action, String(l.actor_id), String(l.target_user_id)]),
        [['comment_deleted', String(moderator.user.id), String(viewer.user.id)]],
      );
    });
  });

  describe('bans and timeouts', () => {
    test('a banned user is refused over REST (403 naming the end) and the socket (banned), and keeps watching', async () => {
      const { moderator, viewer, id } = await chat();
      const socket = await watch(id, viewer.token);
      const ban = await api('POST', `/live/sessions/${id}/bans`, moderator.token, {
        user_id: viewer.user.id,
        duration_seconds: 600,
      });
      assert.equal(ban.status, 200, JSON.stringify(ban.body));
      const until = ban.body.until;
      const rest = await comment(id, viewer, 'let me in');
      assert.equal(rest.status, 403);
      assert.match(rest.body.detail, new RegExp(`banned from this chat until ${until}`));
      assert.equal(rest.body.until, until);
      socket.send({ type: 'comment', message: 'over the socket' });
      const error = await socket.waitForType('error');
      assert.deepEqual([error.code, error.until], ['banned', until]);
      // Still watching: other people's comments arrive on the same socket.
      const posted = await comment(id, moderator, 'still here?');
      await socket.waitFor((m) => m.type === 'comment' && m.id === posted.body.id);
      assert.equal(socket.ws.readyState, socket.ws.OPEN);
    });

    test("a ban holds on a fresh connection, after signing in again, and in the vendor's other sessions", async () => {
      const { vendor, viewer, id } = await chat();
      await api('POST', `/live/sessions/${id}/bans`, vendor.token, { user_id: viewer.user.id });
      const relogin = await api('POST', '/auth/login', undefined, {
        email: viewer.user.email,
        password: 'correct horse',
      });
      const fresh = { ...viewer, token: relogin.body.access_token };
      const socket = await watch(id, fresh.token);
      socket.send({ type: 'comment', message: 'new tab' });
      assert.equal((await socket.waitForType('error')).code, 'banned');
      const other = await api('POST', '/live/sessions', vendor.token, { title: 'second stream' });
      const refused = await comment(other.body.session_id, fresh, 'elsewhere');
      assert.equal(refused.status, 403);
      assert.match(refused.body.detail, /until the host lifts the ban/);
      assert.equal(refused.body.until, null);
      // Another vendor's chat is not affected.
      const elsewhere = await goLive(server.baseUrl);
      assert.equal((await comment(elsewhere.session.session_id, fresh, 'hello')).status, 200);
    });

    test('a timeout expires on time', async () => {
      const { moderator, viewer, id } = await chat();
      await api('POST', `/live/sessions/${id}/bans`, moderator.token, {
        user_id: viewer.user.id,
        duration_seconds: 2,
      });
      assert.equal((await comment(id, viewer, 'too soon')).status, 403);
      clock.jump(2_100);
      assert.equal((await comment(id, viewer, 'back')).status, 200);
    });

    test('a lifted ban lets the user comment again; the bans list shows those in force', async () => {
      const { vendor, moderator, viewer, id } = await chat();
      await api('POST', `/live/sessions/${id}/bans`, moderator.token, { user_id: viewer.user.id });
      const listed = await api('GET', `/live/sessions/${id}/bans`, moderator.token);
      assert.deepEqual(
        listed.body.items.map((b: any) => [b.user_id, b.until, b.created_by]),
        [[viewer.user.id, null, moderator.user.id]],
      );
      assert.equal(
        (await api('DELETE', `/live/sessions/${id}/bans/${viewer.user.id}`, vendor.token)).status,
        204,
      );
      assert.equal((await comment(id, viewer, 'thanks')).status, 200);
      assert.deepEqual((await api('GET', `/live/sessions/${id}/bans`, vendor.token)).body.items, []);
      assert.equal(
        (await api('DELETE', `/live/sessions/${id}/bans/${viewer.user.id}`, vendor.token)).status,
        404,
      );
    });

    test('the vendor and moderators cannot be banned, and viewers cannot ban', async () => {
      const { vendor, moderator, viewer, id } = await chat();
      const ban = (actor: Account, target: Account) =>
        api('POST', `/live/sessions/${id}/bans`, actor.token, { user_id: target.user.id });
      assert.equal((await ban(moderator, vendor)).status, 403);
      assert.equal((await ban(vendor, moderator)).status, 403);
      assert.equal((await ban(viewer, moderator)).status, 403);
      const otherVendor = await goLive(server.baseUrl);
      assert.equal((await ban(otherVendor.vendor, viewer)).status, 403);
    });

    test("delete_recent removes the user's comments of the last 10 minutes in every session of the vendor", async () => {
      const { vendor, moderator, viewer, id } = await chat();
      const second = await api('POST', '/live/sessions', vendor.token, { title: 'second' });
      const secondId = second.body.session_id;
      const watchers = [await watch(id, moderator.token), await watch(secondId, moderator.token)];
      const spam = [await comment(id, viewer, 'spam 1'), await comment(secondId, viewer, 'spam 2')];
      const kept = await comment(id, moderator, 'not spam');
      await api('POST', `/live/sessions/${id}/bans`, moderator.token, {
        user_id: viewer.user.id,
        delete_recent: true,
      });
      for (const [i, socket] of watchers.entries()) {
        await socket.waitFor((m) => m.type === 'comment_deleted' && m.id === spam[i]!.body.id);
      }
      const remaining = (await api('GET', `/live/sessions/${id}/comments`)).body.items.map((c: any) => c.id);
      assert.deepEqual(remaining, [kept.body.id]);
      assert.deepEqual((await api('GET', `/live/sessions/${secondId}/comments`)).body.items, []);
    });
  });

  describe('slow mode', () => {
    test('one comment per user per N seconds: 429 with Retry-After over REST, slow_mode on the socket', async () => {
      const { moderator, viewer, id } = await chat();
      const watcher = await watch(id, viewer.token);
      const set = await api('PATCH', `/live/sessions/${id}/chat`, moderator.token, { slow_mode_seconds: 30 });
      assert.deepEqual(set.body, { slow_mode_seconds: 30 });
      const settings = await watcher.waitForType('chat_settings');
      assert.equal(settings.slow_mode_seconds, 30);
      assert.equal((await comment(id, viewer, 'first')).status, 200);
      const second = await comment(id, viewer, 'second');
      assert.equal(second.status, 429);
      assert.ok(Number(second.headers.get('retry-after')) >= 29, second.headers.get('retry-after') ?? '');
      watcher.send({ type: 'comment', message: 'third' });
      const error = await watcher.waitFor((m) => m.type === 'error');
      assert.equal(error.code, 'slow_mode');
      assert.ok(error.retry_after >= 29 && error.retry_after <= 30, String(error.retry_after));
      // Another user, another session, the vendor and moderators are not held back.
      assert.equal((await comment(id, await register(server.baseUrl), 'me too')).status, 200);
      assert.equal((await comment(id, moderator, 'mod 1')).status, 200);
      assert.equal((await comment(id, moderator, 'mod 2')).status, 200);
      const elsewhere = await goLive(server.baseUrl);
      assert.equal((await comment(elsewhere.session.session_id, viewer, 'elsewhere')).status, 200);
    });

    test('two comments at once from one user in slow mode: exactly one is stored', async () => {
      const { vendor, viewer, id } = await chat();
      await api('PATCH', `/live/sessions/${id}/chat`, vendor.token, { slow_mode_seconds: 60 });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => comment(id, viewer, `race ${i}`)),
      );
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 429, 429, 429, 429, 429, 429, 429]);
    });

    test('a new viewer opens with the slow mode in session_info; 0 turns it off', async () => {
      const { vendor, viewer, id } = await chat();
      await api('PATCH', `/live/sessions/${id}/chat`, vendor.token, { slow_mode_seconds: 15 });
      const socket = await watch(id, viewer.token);
      assert.equal(socket.ofType('session_info')[0].slow_mode_seconds, 15);
      await api('PATCH', `/live/sessions/${id}/chat`, vendor.token, { slow_mode_seconds: 0 });
      assert.equal((await comment(id, viewer, 'one')).status, 200);
      assert.equal((await comment(id, viewer, 'two')).status, 200);
    });
  });

  describe('blocked terms', () => {
    test('a vendor sets terms; comments with them are refused with 422 and not stored', async () => {
      const { vendor, viewer, id } = await chat();
      const set = await api('PUT', '/me/blocked-terms', vendor.token, {
        terms: ['scam', ' spoiler alert ', 'scam'],
      });
      assert.deepEqual(set.body.items, ['scam', 'spoiler alert']);
      assert.deepEqual((await api('GET', '/me/blocked-terms', vendor.token)).body.items, [
        'scam',
        'spoiler alert',
      ]);
      const refused = await comment(id, viewer, 'this is a scam!');
      assert.equal(refused.status, 422);
      assert.deepEqual(refused.body.detail[0].loc, ['body', 'message']);
      assert.equal(refused.body.detail[0].type, 'blocked_term');
      assert.equal((await comment(id, viewer, 'SPOILER   alert: he lives')).status, 422);
      assert.deepEqual((await api('GET', `/live/sessions/${id}/comments`)).body.items, []);
    });

    test('look-alikes are refused: full-width letters, letter case, combining marks', async () => {
      const { vendor, viewer, id } = await chat();
      await api('PUT', '/me/blocked-terms', vendor.token, { terms: ['scam'] });
      for (const message of ['ＳＣＡＭ', 'ScAm', 's\u0301c\u0327a\u0308m', 'sca\u0336m', 'ｓｃａｍ here']) {
        const res = await comment(id, viewer, message);
        assert.equal(res.status, 422, message);
      }
    });

    test('invisible characters inside a term do not hide it: zero-width, soft hyphen, word joiner, BOM', async () => {
      const { vendor, viewer, id } = await chat();
      await api('PUT', '/me/blocked-terms', vendor.token, { terms: ['scam'] });
      const hidden = ['sc\u200bam', 'sc\u200dam', 's\u00adcam', 'sc\u2060am', 's\u200ccam', 'sca\ufeffm'];
      for (const message of hidden) {
        assert.equal((await comment(id, viewer, message)).status, 422, JSON.stringify(message));
      }
      const socket = await watch(id, viewer.token);
      socket.send({ type: 'comment', message: 'sc\u200bam' });
      assert.equal((await socket.waitForType('error')).code, 'blocked_term');
      assert.deepEqual((await api('GET', `/live/sessions/${id}/comments`)).body.items, []);
    });

    test('look-alike letters of other scripts are refused: Cyrillic, Greek, mathematical', async () => {
      const { vendor, viewer, id } = await chat();
      await api('PUT', '/me/blocked-terms', vendor.token, { terms: ['scam'] });
      // Cyrillic ѕ с а, capital Ѕ С А М; Greek omicron in "scοm" is not "scam" (and is accepted).
      for (const message of ['ѕсаm', 'scаm', 'ѕcam', 'ЅСАМ', '𝐬𝐜𝐚𝐦', '𝓈𝒸𝒶𝓂 here']) {
        assert.equal((await comment(id, viewer, message)).status, 422, message);
      }
      const socket = await watch(id, viewer.token);
      socket.send({ type: 'comment', message: 'ѕсаm' });
      assert.equal((await socket.waitForType('error')).code, 'blocked_term');
      assert.equal((await comment(id, viewer, 'scοm')).status, 200);
      assert.deepEqual(
        (await api('GET', `/live/sessions/${id}/comments`)).body.items.map(
          (c: { message: string }) => c.message,
        ),
        ['scοm'],
      );
    });

    test('terms match whole words: an innocent word that contains one is accepted', async () => {
      const { vendor, viewer, id } = await chat();
      await api('PUT', '/me/blocked-terms', vendor.token, { terms: ['ass'] });
      assert.equal((await comment(id, viewer, 'first class passage')).status, 200);
      assert.equal((await comment(id, viewer, 'you ass')).status, 422);
    });

    test('over the socket a blocked term is a blocked_term error and the socket stays', async () => {
      const { vendor, viewer, id } = await chat();
      await api('PUT', '/me/blocked-terms', vendor.token, { terms: ['scam'] });
      const socket = await watch(id, viewer.token);
      socket.send({ type: 'comment', message: 'SCAM' });
      assert.equal((await socket.waitForType('error')).code, 'blocked_term');
      socket.send({ type: 'ping' });
      await socket.waitForType('pong');
    });
  });

  describe('the pin', () => {
    test('pin and unpin reach viewers; a new viewer opens with the pin in session_info', async () => {
      const { moderator, viewer, id } = await chat();
      const watcher = await watch(id, viewer.token);
      const posted = await comment(id, viewer, 'pin me');
      const pinned = await api('PUT', `/live/sessions/${id}/pin`, moderator.token, {
        comment_id: posted.body.id,
      });
      assert.equal(pinned.status, 200);
      assert.equal(pinned.body.id, posted.body.id);
      const event = await watcher.waitForType('comment_pinned');
      assert.deepEqual(event.comment, posted.body);
      const late = await watch(id, (await register(server.baseUrl)).token);
      assert.deepEqual(late.ofType('session_info')[0].pinned, posted.body);
      assert.equal((await api('DELETE', `/live/sessions/${id}/pin`, moderator.token)).status, 204);
      await watcher.waitForType('comment_unpinned');
      const later = await watch(id, (await register(server.baseUrl)).token);
      assert.equal(later.ofType('session_info')[0].pinned, null);
    });

    test('deleting the pinned comment unpins it', async () => {
      const { vendor, viewer, id } = await chat();
      const watcher = await watch(id, viewer.token);
      const posted = await comment(id, viewer, 'pinned then gone');
      await api('PUT', `/live/sessions/${id}/pin`, vendor.token, { comment_id: posted.body.id });
      await api('DELETE', `/live/sessions/${id}/comments/${posted.body.id}`, vendor.token);
      const deleted = await watcher.waitForType('comment_deleted');
      const unpinned = await watcher.waitForType('comment_unpinned');
      assert.ok(unpinned.offset > deleted.offset);
    });

    test('ids in upper case are the same ids: pin and delete by an upper-case comment id unpin it', async () => {
      const { vendor, viewer, id } = await chat();
      const watcher = await watch(id, viewer.token);
      const posted = await comment(id, viewer, 'pinned, then deleted in capitals');
      const upper = String(posted.body.id).toUpperCase();
      const pinned = await api('PUT', `/live/sessions/${id.toUpperCase()}/pin`, vendor.token, {
        comment_id: upper,
      });
      assert.equal(pinned.status, 200);
      assert.equal(pinned.body.id, posted.body.id, 'the pin names the comment in its one spelling');
      assert.equal((await api('DELETE', `/live/sessions/${id}/comments/${upper}`, vendor.token)).status, 204);
      await watcher.waitForType('comment_deleted');
      await watcher.waitForType('comment_unpinned');
      const later = await watch(id, (await register(server.baseUrl)).token);
      assert.equal(later.ofType('session_info')[0].pinned, null, 'no pin left on the deleted comment');
    });

    test("viewers cannot pin, nor can another vendor's moderator", async () => {
      const { viewer, id } = await chat();
      const posted = await comment(id, viewer, 'x');
      const other = await chat();
      for (const actor of [viewer, other.moderator]) {
        const res = await api('PUT', `/live/sessions/${id}/pin`, actor.token, { comment_id: posted.body.id });
        assert.equal(res.status, 403);
      }
    });
  });

  describe('limits', () => {
    test('moderation actions are rate-limited per user', async () => {
      const limited = await startApp({ store: 'postgres', env: { RATE_LIMIT_MODERATION: '3/1m' } });
      try {
        const { vendor, session } = await goLive(limited.baseUrl);
        const set = (n: number) =>
          call(limited.baseUrl, 'PATCH', `/live/sessions/${session.session_id}/chat`, {
            token: vendor.token,
            body: { slow_mode_seconds: n },
          });
        assert.deepEqual(
          [(await set(1)).status, (await set(2)).status, (await set(3)).status],
          [200, 200, 200],
        );
        const over = await set(4);
        assert.equal(over.status, 429);
        assert.match(over.body.detail, /Too many moderation actions/);
      } finally {
        await limited.close();
      }
    });

    test('RATE_LIMITS=off lifts rate limits only: bans, slow mode and blocked terms still hold', async () => {
      const open = await startApp({ store: 'postgres', env: { RATE_LIMITS: 'off' } });
      try {
        const { vendor, session } = await goLive(open.baseUrl);
        const [a, b, c] = await Promise.all([
          register(open.baseUrl),
          register(open.baseUrl),
          register(open.baseUrl),
        ]);
        const id = session.session_id;
        const act = (method: string, path: string, body: unknown) =>
          call(open.baseUrl, method, path, { token: vendor.token, body });
        const say = (who: Account, message: string) =>
          call(open.baseUrl, 'POST', `/live/sessions/${id}/comments`, {
            token: who.token,
            body: { message },
          });
        await act('POST', `/live/sessions/${id}/bans`, { user_id: a.user.id });
        await act('PATCH', `/live/sessions/${id}/chat`, { slow_mode_seconds: 60 });
        await act('PUT', '/me/blocked-terms', { terms: ['scam'] });
        assert.equal((await say(a, 'hi')).status, 403);
        assert.equal((await say(b, 'hi')).status, 200);
        assert.equal((await say(b, 'again')).status, 429);
        assert.equal((await say(c, 'scam')).status, 422);
      } finally {
        await open.close();
      }
    });
  });
});
