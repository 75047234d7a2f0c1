/**
 * The REST contract, written once and run against both stores: real PostgreSQL (a throwaway
 * database) and embedded PGlite in memory. Same SQL, same code paths, so both must agree.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Clock } from '../src/clock.js';
import { openStore, type Store } from '../src/db/store.js';
import { startApp, type RunningApp, type StoreKind } from './support/app.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { COMMENT_FIELDS, SESSION_FIELDS } from './support/contract.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres } from './support/services.js';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const UNKNOWN_SESSION = '00000000-0000-4000-8000-000000000000';

/** Asserts FastAPI's 422 body and returns its entries. */
function assertValidationError(res: { status: number; body: any }, loc: (string | number)[]) {
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.ok(Array.isArray(res.body.detail), 'detail is a list');
  assert.ok(res.body.detail.length >= 1);
  for (const entry of res.body.detail) {
    assert.deepEqual(Object.keys(entry).sort(), ['loc', 'msg', 'type']);
    assert.ok(Array.isArray(entry.loc));
    assert.equal(typeof entry.msg, 'string');
    assert.ok(entry.msg.length > 0);
    assert.equal(typeof entry.type, 'string');
  }
  assert.ok(
    res.body.detail.some((e: any) => JSON.stringify(e.loc) === JSON.stringify(loc)),
    `an entry at ${JSON.stringify(loc)} in ${JSON.stringify(res.body.detail)}`,
  );
  return res.body.detail as { loc: (string | number)[]; msg: string; type: string }[];
}

function assertSessionShape(session: any) {
  assert.deepEqual(Object.keys(session).sort(), SESSION_FIELDS);
  assert.match(session.session_id, UUID);
  assert.deepEqual(Object.keys(session.vendor).sort(), ['id', 'name']);
  assert.match(session.started_at, ISO_UTC);
  assert.ok(session.ended_at === null || ISO_UTC.test(session.ended_at));
  assert.ok(Number.isInteger(session.viewer_count));
  assert.ok(Number.isInteger(session.views_total));
  assert.ok(Number.isInteger(session.live_duration_seconds));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A clock the test moves by hand; starts at the real time so issued tokens look ordinary. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = Date.now();
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

function apiSuite(kind: StoreKind) {
  describe(`REST API on ${kind}`, { skip: kind === 'postgres' ? needsPostgres() : undefined }, () => {
    let running: RunningApp;
    let base: string;

    before(async () => {
      running = await startApp({ store: kind });
      base = running.baseUrl;
    });
    after(async () => {
      await running?.close();
    });

    describe('POST /auth/register', () => {
      test('registering returns a bearer token and the new user', async () => {
        const res = await call(base, 'POST', '/auth/register', {
          body: { email: 'Ada@Example.com', name: 'Ada', password: 'pw-123456', role: 'vendor' },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'token_type', 'user']);
        assert.equal(res.body.token_type, 'bearer');
        assert.equal(res.body.access_token.split('.').length, 3);
        assert.deepEqual(Object.keys(res.body.user).sort(), ['created_at', 'email', 'id', 'name', 'role']);
        assert.match(res.body.user.id, UUID);
        assert.equal(res.body.user.name, 'Ada');
        assert.equal(res.body.user.role, 'vendor');
        assert.match(res.body.user.created_at, ISO_UTC);
      });

      test('the role defaults to user', async () => {
        const res = await call(base, 'POST', '/auth/register', {
          body: { email: 'norole@example.com', name: 'No Role', password: 'pw' },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.user.role, 'user');
      });

      test('an email already registered is refused with 400', async () => {
        const body = { email: 'twice@example.com', name: 'Twice', password: 'pw' };
        assert.equal((await call(base, 'POST', '/auth/register', { body })).status, 200);
        const res = await call(base, 'POST', '/auth/register', { body });
        assert.equal(res.status, 400);
        assert.deepEqual(res.body, { detail: 'Email already registered' });
      });

      test('an email already registered in another letter case is refused with 400', async () => {
        const first = { email: 'casey@example.com', name: 'Casey', password: 'pw' };
        assert.equal((await call(base, 'POST', '/auth/register', { body: first })).status, 200);
        const res = await call(base, 'POST', '/auth/register', {
          body: { ...first, email: 'CASEY@Example.COM' },
        });
        assert.equal(res.status, 400);
        assert.deepEqual(res.body, { detail: 'Email already registered' });
      });

      test('a malformed email is refused with 422 at body.email', async () => {
        const res = await call(base, 'POST', '/auth/register', {
          body: { email: 'not-an-email', name: 'X', password: 'pw' },
        });
        assertValidationError(res, ['body', 'email']);
      });

      test('a missing field is refused with 422 "Field required" at its location', async () => {
        const res = await call(base, 'POST', '/auth/register', {
          body: { email: 'missing@example.com', name: 'X' },
        });
        const detail = assertValidationError(res, ['body', 'password']);
        const entry = detail.find((e) => e.loc.join('.') === 'body.password');
        assert.equal(entry?.type, 'missing');
        assert.equal(entry?.msg, 'Field required');
      });

      test('a name that is only whitespace is refused with 422 at body.name', async () => {
        const res = await call(base, 'POST', '/auth/register', {
          body: { email: 'blank-name@example.com', name: '   ', password: 'pw' },
        });
        assertValidationError(res, ['body', 'name']);
      });

      test('an unknown role is refused with 422 at body.role', async () => {
        const res = await call(base, 'POST', '/auth/register', {
          body: { email: 'admin@example.com', name: 'X', password: 'pw', role: 'admin' },
        });
        assertValidationError(res, ['body', 'role']);
      });

      test('malformed JSON is refused with 422 at body', async () => {
        const res = await call(base, 'POST', '/auth/register', { raw: '{"email": "a@b.c",' });
        const detail = assertValidationError(res, ['body']);
        assert.equal(detail[0]?.type, 'json_invalid');
      });
    });

    describe('POST /auth/login', () => {
      const account = { email: 'login@example.com', name: 'Login', password: 'right password' };
      before(async () => {
        const res = await call(base, 'POST', '/auth/register', { body: account });
        assert.equal(res.status, 200);
      });

      test('the right password returns a token for the same user', async () => {
        const res = await call(base, 'POST', '/auth/login', {
          body: { email: account.email, password: account.password },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.token_type, 'bearer');
        assert.equal(res.body.user.email, account.email);
        const me = await call(base, 'GET', '/me', { token: res.body.access_token });
        assert.equal(me.status, 200);
        assert.equal(me.body.id, res.body.user.id);
      });

      test('the email matches in any letter case', async () => {
        const res = await call(base, 'POST', '/auth/login', {
          body: { email: 'LOGIN@example.COM', password: account.password },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.user.email, account.email);
      });

      test('a wrong password is refused with 400 Incorrect email/password', async () => {
        const res = await call(base, 'POST', '/auth/login', {
          body: { email: account.email, password: 'wrong password' },
        });
        assert.equal(res.status, 400);
        assert.deepEqual(res.body, { detail: 'Incorrect email/password' });
      });

      test('an unknown email is refused with the same 400 as a wrong password', async () => {
        const res = await call(base, 'POST', '/auth/login', {
          body: { email: 'nobody@example.com', password: account.password },
        });
        assert.equal(res.status, 400);
        assert.deepEqual(res.body, { detail: 'Incorrect email/password' });
      });

      test('a login without a password is refused with 422 at body.password', async () => {
        const res = await call(base, 'POST', '/auth/login', { body: { email: account.email } });
        assertValidationError(res, ['body', 'password']);
      });
    });

    describe('GET /me', () => {
      test('the Authorization: Bearer header identifies the caller', async () => {
        const { token, user } = await register(base);
        const res = await call(base, 'GET', '/me', { token });
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, user);
      });

      test('the ?authorization=Bearer%20… query form identifies the caller', async () => {
        const { token, user } = await register(base);
        const res = await call(base, 'GET', `/me?authorization=Bearer%20${token}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.id, user.id);
      });

      test('no token is refused with 401 and a WWW-Authenticate challenge', async () => {
        const res = await call(base, 'GET', '/me');
        assert.equal(res.status, 401);
        assert.equal(typeof res.body.detail, 'string');
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      });

      test('a token that is not a JWT is refused with 401', async () => {
        const res = await call(base, 'GET', '/me', { token: 'not.a.jwt' });
        assert.equal(res.status, 401);
        assert.equal(typeof res.body.detail, 'string');
      });

      test('a garbage ?authorization= query is refused with 401', async () => {
        const res = await call(base, 'GET', '/me?authorization=Bearer%20garbage');
        assert.equal(res.status, 401);
      });
    });

    describe('POST /live/sessions', () => {
      test('a vendor goes live and gets the full session object', async () => {
        const vendor = await register(base, 'vendor', 'Vera');
        const res = await call(base, 'POST', '/live/sessions', {
          token: vendor.token,
          body: { title: 'Morning show' },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assertSessionShape(res.body);
        assert.equal(res.body.title, 'Morning show');
        assert.deepEqual(res.body.vendor, { id: vendor.user.id, name: 'Vera' });
        assert.equal(res.body.is_live, true);
        assert.equal(res.body.ended_at, null);
        assert.equal(res.body.viewer_count, 0);
        assert.equal(res.body.views_total, 0);
        assert.equal(res.body.live_duration_seconds, 0);
      });

      test('the ?authorization= query form works for going live', async () => {
        const vendor = await register(base, 'vendor');
        const res = await call(base, 'POST', `/live/sessions?authorization=Bearer%20${vendor.token}`, {
          body: { title: 'Via query' },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.vendor.id, vendor.user.id);
      });

      test('a plain user is refused with 403 vendor role required', async () => {
        const user = await register(base, 'user');
        const res = await call(base, 'POST', '/live/sessions', {
          token: user.token,
          body: { title: 'Nope' },
        });
        assert.equal(res.status, 403);
        assert.deepEqual(res.body, { detail: 'vendor role required' });
      });

      test('going live without a token is refused with 401', async () => {
        const res = await call(base, 'POST', '/live/sessions', { body: { title: 'Anon' } });
        assert.equal(res.status, 401);
      });

      test('going live with an invalid token is refused with 401', async () => {
        const res = await call(base, 'POST', '/live/sessions', {
          token: 'abc.def.ghi',
          body: { title: 'x' },
        });
        assert.equal(res.status, 401);
      });

      test('a title that is only whitespace is refused with 422 at body.title', async () => {
        const vendor = await register(base, 'vendor');
        const res = await call(base, 'POST', '/live/sessions', {
          token: vendor.token,
          body: { title: '  ' },
        });
        assertValidationError(res, ['body', 'title']);
      });

      test('going live without a title is refused with 422 at body.title', async () => {
        const vendor = await register(base, 'vendor');
        const res = await call(base, 'POST', '/live/sessions', { token: vendor.token, body: {} });
        assertValidationError(res, ['body', 'title']);
      });
    });

    describe('GET /live/sessions/{id}', () => {
      test('a live session is returned with every field', async () => {
        const { vendor, session } = await goLive(base, 'Fetch me');
        const res = await call(base, 'GET', `/live/sessions/${session.session_id}`);
        assert.equal(res.status, 200);
        assertSessionShape(res.body);
        assert.equal(res.body.session_id, session.session_id);
        assert.equal(res.body.title, 'Fetch me');
        assert.equal(res.body.vendor.id, vendor.user.id);
        assert.equal(res.body.is_live, true);
      });

      test('an unknown session id is 404 Session not found', async () => {
        const res = await call(base, 'GET', `/live/sessions/${UNKNOWN_SESSION}`);
        assert.equal(res.status, 404);
        assert.deepEqual(res.body, { detail: 'Session not found' });
      });

      test('a session id that is not a UUID is 404 Session not found', async () => {
        const res = await call(base, 'GET', '/live/sessions/not-a-uuid');
        assert.equal(res.status, 404);
        assert.deepEqual(res.body, { detail: 'Session not found' });
      });
    });

    describe('GET /live/sessions/active', () => {
      test('live sessions are listed newest first as {items, next_cursor}', async () => {
        const older = await goLive(base, 'older');
        await sleep(5);
        const newer = await goLive(base, 'newer');
        const res = await call(base, 'GET', '/live/sessions/active?limit=200');
        assert.equal(res.status, 200);
        assert.deepEqual(Object.keys(res.body).sort(), ['items', 'next_cursor']);
        for (const item of res.body.items) assertSessionShape(item);
        const ids = res.body.items.map((s: any) => s.session_id);
        assert.ok(ids.indexOf(newer.session.session_id) >= 0);
        assert.ok(ids.indexOf(newer.session.session_id) < ids.indexOf(older.session.session_id));
        const starts = res.body.items.map((s: any) => Date.parse(s.started_at));
        assert.deepEqual(
          starts,
          [...starts].sort((a, b) => b - a),
        );
        assert.ok(res.body.items.every((s: any) => s.is_live === true));
      });

      test('limit and cursor page through every live session once', async () => {
        const mine: string[] = [];
        for (let i = 0; i < 5; i += 1) {
          mine.push((await goLive(base, `page ${i}`)).session.session_id);
          await sleep(3);
        }
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const query: string = cursor ? `limit=2&cursor=${encodeURIComponent(cursor)}` : 'limit=2';
          const res = await call(base, 'GET', `/live/sessions/active?${query}`);
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.ok(res.body.items.length <= 2);
          seen.push(...res.body.items.map((s: any) => s.session_id));
          cursor = res.body.next_cursor;
          pages += 1;
          assert.ok(pages < 100, 'paging terminates');
        } while (cursor);
        assert.equal(new Set(seen).size, seen.length, 'no session appears twice');
        // Newest first: the five we just made are the first five, newest at the top.
        assert.deepEqual(seen.slice(0, 5), [...mine].reverse());
        const all = await call(base, 'GET', '/live/sessions/active?limit=200');
        assert.deepEqual(
          seen,
          all.body.items.map((s: any) => s.session_id),
        );
      });

      test('the last page has next_cursor null', async () => {
        await goLive(base);
        const res = await call(base, 'GET', '/live/sessions/active?limit=200');
        assert.equal(res.status, 200);
        assert.equal(res.body.next_cursor, null);
      });

      test('an ended session is not listed', async () => {
        const { vendor, session } = await goLive(base, 'short');
        const end = await call(base, 'POST', `/live/sessions/${session.session_id}/end`, {
          token: vendor.token,
        });
        assert.equal(end.status, 200);
        const res = await call(base, 'GET', '/live/sessions/active?limit=200');
        assert.ok(!res.body.items.some((s: any) => s.session_id === session.session_id));
      });

      for (const limit of ['0', '201', 'abc', '-1', '1.5']) {
        test(`limit=${limit} is refused with 422 at query.limit`, async () => {
          const res = await call(base, 'GET', `/live/sessions/active?limit=${limit}`);
          assertValidationError(res, ['query', 'limit']);
        });
      }

      test('a cursor the server never issued is refused with 400', async () => {
        const res = await call(base, 'GET', '/live/sessions/active?cursor=bogus');
        assert.equal(res.status, 400);
        assert.equal(typeof res.body.detail, 'string');
      });
    });

    describe('POST /live/sessions/{id}/end', () => {
      test('the owning vendor ends the session and gets it back ended', async () => {
        const { vendor, session } = await goLive(base);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/end`, {
          token: vendor.token,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assertSessionShape(res.body);
        assert.equal(res.body.session_id, session.session_id);
        assert.equal(res.body.is_live, false);
        assert.match(res.body.ended_at, ISO_UTC);
        assert.equal(res.body.viewer_count, 0);
        const fetched = await call(base, 'GET', `/live/sessions/${session.session_id}`);
        assert.equal(fetched.body.is_live, false);
        assert.equal(fetched.body.ended_at, res.body.ended_at);
      });

      test('ending twice is idempotent: same 200 and the same ended_at', async () => {
        const { vendor, session } = await goLive(base);
        const path = `/live/sessions/${session.session_id}/end`;
        const first = await call(base, 'POST', path, { token: vendor.token });
        await sleep(20);
        const second = await call(base, 'POST', path, { token: vendor.token });
        assert.equal(first.status, 200);
        assert.equal(second.status, 200);
        assert.deepEqual(second.body, first.body);
      });

      test('ending with a JSON content type and no body works, as it did on the original', async () => {
        // Clients that send Content-Type: application/json on every POST must still end sessions.
        const { vendor, session } = await goLive(base);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/end`, {
          token: vendor.token,
          headers: { 'content-type': 'application/json' },
          raw: '',
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.is_live, false);
      });

      test('ending ignores whatever body comes with it, as the original did', async () => {
        const { vendor, session } = await goLive(base);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/end`, {
          token: vendor.token,
          raw: '{"reason": ',
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.is_live, false);
      });

      test('a JSON body is still parsed strictly on the routes that read one', async () => {
        const { vendor } = await goLive(base);
        const res = await call(base, 'POST', '/live/sessions', {
          token: vendor.token,
          headers: { 'content-type': 'application/json' },
          raw: '',
        });
        assertValidationError(res, ['body']);
      });

      test('the ?authorization= query form works for ending', async () => {
        const { vendor, session } = await goLive(base);
        const res = await call(
          base,
          'POST',
          `/live/sessions/${session.session_id}/end?authorization=Bearer%20${vendor.token}`,
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.is_live, false);
      });

      test("another vendor's session is 404 Session not found and stays live", async () => {
        const { session } = await goLive(base);
        const other = await register(base, 'vendor');
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/end`, {
          token: other.token,
        });
        assert.equal(res.status, 404);
        assert.deepEqual(res.body, { detail: 'Session not found' });
        const fetched = await call(base, 'GET', `/live/sessions/${session.session_id}`);
        assert.equal(fetched.body.is_live, true);
      });

      test('an unknown session id is 404 Session not found', async () => {
        const vendor = await register(base, 'vendor');
        const res = await call(base, 'POST', `/live/sessions/${UNKNOWN_SESSION}/end`, {
          token: vendor.token,
        });
        assert.equal(res.status, 404);
        assert.deepEqual(res.body, { detail: 'Session not found' });
      });

      test('a session id that is not a UUID is 404 Session not found', async () => {
        const vendor = await register(base, 'vendor');
        const res = await call(base, 'POST', '/live/sessions/12345/end', { token: vendor.token });
        assert.equal(res.status, 404);
        assert.deepEqual(res.body, { detail: 'Session not found' });
      });

      test('a plain user is refused with 403 vendor role required', async () => {
        const { session } = await goLive(base);
        const user = await register(base, 'user');
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/end`, {
          token: user.token,
        });
        assert.equal(res.status, 403);
        assert.deepEqual(res.body, { detail: 'vendor role required' });
      });

      test('ending without a token is refused with 401', async () => {
        const { session } = await goLive(base);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/end`);
        assert.equal(res.status, 401);
      });
    });

    describe('comments', () => {
      test('a posted comment is trimmed and returned with every field', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base, 'user', 'Vic');
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token: viewer.token,
          body: { message: '   hello there \n' },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(Object.keys(res.body).sort(), COMMENT_FIELDS);
        assert.match(res.body.id, UUID);
        assert.equal(res.body.session_id, session.session_id);
        assert.equal(res.body.user_id, viewer.user.id);
        assert.equal(res.body.user_name, 'Vic');
        assert.equal(res.body.message, 'hello there');
        assert.match(res.body.ts, ISO_UTC);
      });

      test('a posted comment is listed exactly as it was acknowledged', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        const posted = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token: viewer.token,
          body: { message: 'persisted' },
        });
        const list = await call(base, 'GET', `/live/sessions/${session.session_id}/comments`);
        assert.equal(list.status, 200);
        assert.deepEqual(Object.keys(list.body), ['items']);
        assert.deepEqual(list.body.items, [posted.body]);
      });

      test('the ?authorization= query form works for commenting', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        const res = await call(
          base,
          'POST',
          `/live/sessions/${session.session_id}/comments?authorization=Bearer%20${viewer.token}`,
          { body: { message: 'via query' } },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.user_id, viewer.user.id);
      });

      test('a message of 1000 characters after trimming is accepted', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        const message = 'x'.repeat(1000);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token: viewer.token,
          body: { message: `  ${message}  ` },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.message, message);
      });

      test('a message of 1001 characters is refused with 422 at body.message', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token: viewer.token,
          body: { message: 'x'.repeat(1001) },
        });
        assertValidationError(res, ['body', 'message']);
      });

      test('a message that is only whitespace is refused with 422 at body.message', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token: viewer.token,
          body: { message: ' \t\n ' },
        });
        assertValidationError(res, ['body', 'message']);
      });

      test('an empty message is refused with 422 at body.message', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token: viewer.token,
          body: { message: '' },
        });
        assertValidationError(res, ['body', 'message']);
      });

      test('a comment without a message field is refused with 422 at body.message', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token: viewer.token,
          body: {},
        });
        assertValidationError(res, ['body', 'message']);
      });

      test('nothing refused is stored', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        for (const message of ['', '   ', 'y'.repeat(1001)]) {
          await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
            token: viewer.token,
            body: { message },
          });
        }
        const list = await call(base, 'GET', `/live/sessions/${session.session_id}/comments`);
        assert.deepEqual(list.body.items, []);
      });

      test('commenting without a token is refused with 401', async () => {
        const { session } = await goLive(base);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
          body: { message: 'anon' },
        });
        assert.equal(res.status, 401);
      });

      test('a comment on an unknown session is 404 Session not found', async () => {
        const viewer = await register(base);
        const res = await call(base, 'POST', `/live/sessions/${UNKNOWN_SESSION}/comments`, {
          token: viewer.token,
          body: { message: 'hello?' },
        });
        assert.equal(res.status, 404);
        assert.deepEqual(res.body, { detail: 'Session not found' });
      });

      test('a comment on a non-UUID session id is 404 Session not found', async () => {
        const viewer = await register(base);
        const res = await call(base, 'POST', '/live/sessions/nope/comments', {
          token: viewer.token,
          body: { message: 'hello?' },
        });
        assert.equal(res.status, 404);
        assert.deepEqual(res.body, { detail: 'Session not found' });
      });

      test('a comment on an ended session is refused with 409', async () => {
        const { vendor, session } = await goLive(base);
        const viewer = await register(base);
        await call(base, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token: viewer.token,
          body: { message: 'too late' },
        });
        assert.equal(res.status, 409);
        assert.equal(typeof res.body.detail, 'string');
        const list = await call(base, 'GET', `/live/sessions/${session.session_id}/comments`);
        assert.equal(list.status, 200, 'an ended session still shows its comments');
        assert.deepEqual(list.body.items, []);
      });

      test('the list holds the newest `limit` comments in chronological order', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        for (let i = 1; i <= 5; i += 1) {
          const res = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
            token: viewer.token,
            body: { message: `m${i}` },
          });
          assert.equal(res.status, 200);
        }
        const res = await call(base, 'GET', `/live/sessions/${session.session_id}/comments?limit=3`);
        assert.equal(res.status, 200);
        assert.deepEqual(
          res.body.items.map((c: any) => c.message),
          ['m3', 'm4', 'm5'],
        );
        for (const item of res.body.items) assert.deepEqual(Object.keys(item).sort(), COMMENT_FIELDS);
      });

      test('before=<id> pages back through older comments', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        for (let i = 1; i <= 7; i += 1) {
          await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
            token: viewer.token,
            body: { message: `m${i}` },
          });
        }
        const path = `/live/sessions/${session.session_id}/comments`;
        const newest = await call(base, 'GET', `${path}?limit=3`);
        assert.deepEqual(
          newest.body.items.map((c: any) => c.message),
          ['m5', 'm6', 'm7'],
        );
        const older = await call(base, 'GET', `${path}?limit=3&before=${newest.body.items[0].id}`);
        assert.equal(older.status, 200);
        assert.deepEqual(
          older.body.items.map((c: any) => c.message),
          ['m2', 'm3', 'm4'],
        );
        const oldest = await call(base, 'GET', `${path}?limit=3&before=${older.body.items[0].id}`);
        assert.deepEqual(
          oldest.body.items.map((c: any) => c.message),
          ['m1'],
        );
        const none = await call(base, 'GET', `${path}?limit=3&before=${oldest.body.items[0].id}`);
        assert.deepEqual(none.body.items, []);
      });

      test('the default limit is 50', async () => {
        const { session } = await goLive(base);
        const viewer = await register(base);
        for (let i = 1; i <= 52; i += 1) {
          await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
            token: viewer.token,
            body: { message: `m${i}` },
          });
        }
        const res = await call(base, 'GET', `/live/sessions/${session.session_id}/comments`);
        assert.equal(res.body.items.length, 50);
        assert.equal(res.body.items[0].message, 'm3');
        assert.equal(res.body.items[49].message, 'm52');
      });

      test('comments of other sessions are not listed', async () => {
        const a = await goLive(base);
        const b = await goLive(base);
        const viewer = await register(base);
        await call(base, 'POST', `/live/sessions/${a.session.session_id}/comments`, {
          token: viewer.token,
          body: { message: 'for a' },
        });
        const res = await call(base, 'GET', `/live/sessions/${b.session.session_id}/comments`);
        assert.deepEqual(res.body.items, []);
      });

      for (const limit of ['0', '201', 'abc']) {
        test(`limit=${limit} on comments is refused with 422 at query.limit`, async () => {
          const { session } = await goLive(base);
          const res = await call(base, 'GET', `/live/sessions/${session.session_id}/comments?limit=${limit}`);
          assertValidationError(res, ['query', 'limit']);
        });
      }

      test('limit=200 on comments is accepted', async () => {
        const { session } = await goLive(base);
        const res = await call(base, 'GET', `/live/sessions/${session.session_id}/comments?limit=200`);
        assert.equal(res.status, 200);
      });

      test('listing comments of an unknown session is 404 Session not found', async () => {
        const res = await call(base, 'GET', `/live/sessions/${UNKNOWN_SESSION}/comments`);
        assert.equal(res.status, 404);
        assert.deepEqual(res.body, { detail: 'Session not found' });
      });
    });

    describe('a token that outlived its user', () => {
      let database: ThrowawayDatabase | undefined;
      let store: Store;
      let own: RunningApp;
      before(async () => {
        if (kind === 'postgres') database = await createThrowawayDatabase();
        store = await openStore({ databaseUrl: database?.url, dataDir: 'memory://' });
        own = await startApp({ store: kind, deps: { store } });
      });
      after(async () => {
        await own?.close();
        await store?.close();
        await database?.drop();
      });

      const orphan = async (role: 'vendor' | 'user') => {
        const account = await register(own.baseUrl, role);
        await store.db.deleteFrom('users').where('id', '=', account.user.id).execute();
        return account;
      };

      test('is refused on /me with 401', async () => {
        const { token } = await orphan('user');
        const res = await call(own.baseUrl, 'GET', '/me', { token });
        assert.equal(res.status, 401);
      });

      test('cannot go live: 401, not a server error', async () => {
        const { token } = await orphan('vendor');
        const res = await call(own.baseUrl, 'POST', '/live/sessions', { token, body: { title: 'ghost' } });
        assert.equal(res.status, 401, JSON.stringify(res.body));
      });

      test('cannot comment: 401, not a server error', async () => {
        const { session } = await goLive(own.baseUrl);
        const { token } = await orphan('user');
        const res = await call(own.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token,
          body: { message: 'boo' },
        });
        assert.equal(res.status, 401, JSON.stringify(res.body));
      });
    });

    describe('live_duration_seconds', () => {
      const clock = manualClock();
      let timed: RunningApp;
      before(async () => {
        timed = await startApp({ store: kind, deps: { clock } });
      });
      after(async () => {
        await timed?.close();
      });

      test('while live it is now minus start in whole seconds, then frozen at the end', async () => {
        const { vendor, session } = await goLive(timed.baseUrl);
        clock.advance(90_700);
        const live = await call(timed.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
        assert.equal(live.body.live_duration_seconds, 90);
        const ended = await call(timed.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, {
          token: vendor.token,
        });
        assert.equal(ended.body.live_duration_seconds, 90);
        assert.equal(Date.parse(ended.body.ended_at) - Date.parse(ended.body.started_at), 90_700);
        clock.advance(3_600_000);
        const later = await call(timed.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
        assert.equal(later.body.live_duration_seconds, 90);
      });
    });

    describe('JSON bodies are checked, not coerced', () => {
      test('a comment message that is a number is refused with 422, not stored as text', async () => {
        const { vendor, session } = await goLive(base);
        const res = await call(base, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token: vendor.token,
          body: { message: 5 },
        });
        assert.equal(assertValidationError(res, ['body', 'message'])[0]?.type, 'string_type');
        const stored = await call(base, 'GET', `/live/sessions/${session.session_id}/comments`);
        assert.deepEqual(stored.body.items, []);
      });

      test('a session title that is a list is refused with 422', async () => {
        const vendor = await register(base, 'vendor');
        const res = await call(base, 'POST', '/live/sessions', {
          token: vendor.token,
          body: { title: ['a'] },
        });
        assertValidationError(res, ['body', 'title']);
      });
    });

    describe('paging sessions that started within one millisecond', () => {
      let store: Store;
      let paged: RunningApp;
      before(async () => {
        const database = kind === 'postgres' ? await createThrowawayDatabase() : undefined;
        store = await openStore({ databaseUrl: database?.url, dataDir: 'memory://' });
        const app = await startApp({ store: kind, databaseUrl: database?.url, deps: { store } });
        paged = {
          ...app,
          close: async () => {
            await app.close();
            await store.close();
            await database?.drop();
          },
        };
      });
      after(async () => {
        await paged?.close();
      });

      test('sessions whose start differs only in microseconds are each listed once', async () => {
        const { vendor } = await goLive(paged.baseUrl);
        // Rows adopted from the original carry microseconds; a JS Date keeps only milliseconds.
        for (const micros of ['000100', '000200', '000300']) {
          await sql`insert into live_sessions (vendor_id, title, started_at)
                    values (${vendor.user.id}, ${'adopted ' + micros}, ${'2030-01-01 00:00:00.' + micros + '+00'})`.execute(
            store.db,
          );
        }
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const query: string = cursor ? `limit=1&cursor=${encodeURIComponent(cursor)}` : 'limit=1';
          const res = await call(paged.baseUrl, 'GET', `/live/sessions/active?${query}`);
          assert.equal(res.status, 200, JSON.stringify(res.body));
          seen.push(...res.body.items.map((s: any) => s.title));
          cursor = res.body.next_cursor;
        } while (cursor);
        assert.deepEqual(
          seen.filter((t) => t.startsWith('adopted')),
          ['adopted 000300', 'adopted 000200', 'adopted 000100'],
        );
      });
    });
  });
}

apiSuite('postgres');
apiSuite('pglite');
