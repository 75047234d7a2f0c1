/**
 * Stream keys (`/me/stream-keys`): a vendor's long-lived tokens for WHIP clients. Run against
 * both stores, as test/api.test.ts: real PostgreSQL and embedded PGlite.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../src/clock.js';
import { DomainError } from '../src/contract/errors.js';
import { STREAM_KEY_PREFIX } from '../src/contract/media.js';
import { openStore, type Store } from '../src/db/store.js';
import { isStreamKey, MAX_STREAM_KEYS, StreamKeys } from '../src/media/stream-keys.js';
import { startApp, type RunningApp, type StoreKind } from './support/app.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { call, register } from './support/http.js';
import { needsPostgres } from './support/services.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const LISTED_FIELDS = ['created_at', 'id', 'last_used_at', 'name', 'title'];

/** Asserts a refusal by the service with `code` (and `detail`, when given). */
async function assertRefused(promise: Promise<unknown>, code: string, detail?: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DomainError, String(error));
    assert.equal(error.code, code);
    if (detail !== undefined) assert.equal(error.detail, detail);
    return true;
  });
}

/** Asserts FastAPI's 422 body with an entry at `loc`. */
function assertValidationError(res: { status: number; body: any }, loc: (string | number)[]) {
  assert.equal(res.status, 422, JSON.stringify(res.body));
  assert.ok(Array.isArray(res.body.detail), 'detail is a list');
  for (const entry of res.body.detail) {
    assert.deepEqual(Object.keys(entry).sort(), ['loc', 'msg', 'type']);
  }
  assert.ok(
    res.body.detail.some((e: any) => JSON.stringify(e.loc) === JSON.stringify(loc)),
    `an entry at ${JSON.stringify(loc)} in ${JSON.stringify(res.body.detail)}`,
  );
}

function streamKeySuite(kind: StoreKind) {
  describe(`stream keys on ${kind}`, { skip: kind === 'postgres' ? needsPostgres() : undefined }, () => {
    let database: ThrowawayDatabase | undefined;
    let store: Store;
    let running: RunningApp;
    let base: string;
    let keys: StreamKeys;

    before(async () => {
      if (kind === 'postgres') database = await createThrowawayDatabase();
      store = await openStore({ databaseUrl: database?.url, dataDir: 'memory://' });
      running = await startApp({ store: kind, databaseUrl: database?.url, deps: { store } });
      base = running.baseUrl;
      keys = new StreamKeys(store.db, systemClock);
    });
    after(async () => {
      await running?.close();
      await store?.close();
      await database?.drop();
    });

    const create = (token: string, body: unknown) => call(base, 'POST', '/me/stream-keys', { token, body });

    test('creating a key shows it once, with its id, name, title and times', async () => {
      const vendor = await register(base, 'vendor');
      const res = await create(vendor.token, { name: 'OBS at home', title: 'Evening show' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(Object.keys(res.body).sort(), [...LISTED_FIELDS, 'key'].sort());
      assert.match(res.body.id, UUID);
      assert.equal(res.body.name, 'OBS at home');
      assert.equal(res.body.title, 'Evening show');
      assert.match(res.body.created_at, ISO_UTC);
      assert.equal(res.body.last_used_at, null);
      assert.ok(res.body.key.startsWith(STREAM_KEY_PREFIX));
      assert.ok(isStreamKey(res.body.key));
      assert.match(res.body.key.slice(STREAM_KEY_PREFIX.length), /^[A-Za-z0-9_-]{43}$/);
    });

    test('listing shows the keys in force, newest first, never the key itself', async () => {
      const vendor = await register(base, 'vendor');
      const first = await create(vendor.token, { name: 'first' });
      const second = await create(vendor.token, { name: 'second' });
      const res = await call(base, 'GET', '/me/stream-keys', { token: vendor.token });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.items.map((k: any) => k.id),
        [second.body.id, first.body.id],
      );
      for (const item of res.body.items) assert.deepEqual(Object.keys(item).sort(), LISTED_FIELDS);
      assert.ok(!JSON.stringify(res.body).includes(first.body.key));
      assert.ok(!JSON.stringify(res.body).includes(second.body.key));
    });

    test('another vendor lists none of my keys', async () => {
      const mine = await register(base, 'vendor');
      await create(mine.token, { name: 'mine' });
      const other = await register(base, 'vendor');
      const res = await call(base, 'GET', '/me/stream-keys', { token: other.token });
      assert.deepEqual(res.body, { items: [] });
    });

    test('the database holds the SHA-256 of the key, never the key', async () => {
      const vendor = await register(base, 'vendor');
      const { body } = await create(vendor.token, { name: 'hashed' });
      const row = await store.db
        .selectFrom('stream_keys')
        .selectAll()
        .where('id', '=', body.id)
        .executeTakeFirstOrThrow();
      assert.notEqual(row.key_hash, body.key);
      assert.equal(row.key_hash, createHash('sha256').update(body.key).digest('hex'));
      assert.ok(!Object.values(row).some((value) => String(value).includes(body.key)));
    });

    test('a key authenticates its vendor, with its title, and is stamped as used', async () => {
      const vendor = await register(base, 'vendor');
      const { body } = await create(vendor.token, { name: 'OBS', title: 'Cooking live' });
      const owner = await keys.authenticate(body.key);
      assert.deepEqual(owner, { userId: vendor.user.id, keyId: body.id, title: 'Cooking live' });
      const listed = await call(base, 'GET', '/me/stream-keys', { token: vendor.token });
      assert.match(listed.body.items[0].last_used_at, ISO_UTC);
    });

    test("a key without a title starts sessions titled by the key's name", async () => {
      const vendor = await register(base, 'vendor');
      const { body } = await create(vendor.token, { name: 'Studio PC' });
      assert.equal(body.title, null);
      assert.equal((await keys.authenticate(body.key)).title, 'Studio PC');
    });

    test('an unknown key, or a token that is not a stream key, is refused as unauthorized', async () => {
      await assertRefused(
        keys.authenticate(`${STREAM_KEY_PREFIX}${'A'.repeat(43)}`),
        'unauthorized',
        'Invalid or revoked stream key',
      );
      const vendor = await register(base, 'vendor');
      await assertRefused(keys.authenticate(vendor.token), 'unauthorized', 'Invalid or revoked stream key');
    });

    test('a revoked key is gone from the list and authenticates no one', async () => {
      const vendor = await register(base, 'vendor');
      const { body } = await create(vendor.token, { name: 'to revoke' });
      const res = await call(base, 'DELETE', `/me/stream-keys/${body.id}`, { token: vendor.token });
      assert.equal(res.status, 204, JSON.stringify(res.body));
      const listed = await call(base, 'GET', '/me/stream-keys', { token: vendor.token });
      assert.deepEqual(listed.body, { items: [] });
      await assertRefused(keys.authenticate(body.key), 'unauthorized', 'Invalid or revoked stream key');
    });

    test('revoking a key revoked already is 404', async () => {
      const vendor = await register(base, 'vendor');
      const { body } = await create(vendor.token, { name: 'twice' });
      assert.equal(
        (await call(base, 'DELETE', `/me/stream-keys/${body.id}`, { token: vendor.token })).status,
        204,
      );
      const again = await call(base, 'DELETE', `/me/stream-keys/${body.id}`, { token: vendor.token });
      assert.equal(again.status, 404);
      assert.deepEqual(again.body, { detail: 'Stream key not found' });
    });

    test('another vendor cannot revoke my key: 404, and it keeps working', async () => {
      const mine = await register(base, 'vendor');
      const { body } = await create(mine.token, { name: 'mine' });
      const other = await register(base, 'vendor');
      const res = await call(base, 'DELETE', `/me/stream-keys/${body.id}`, { token: other.token });
      assert.equal(res.status, 404);
      assert.deepEqual(res.body, { detail: 'Stream key not found' });
      assert.equal((await keys.authenticate(body.key)).keyId, body.id);
    });

    test('an unknown or malformed key id is 404, not a server error', async () => {
      const vendor = await register(base, 'vendor');
      for (const id of [
        '00000000-0000-4000-8000-000000000000',
        'not-a-uuid',
        '1',
        "x'; drop table users;--",
      ]) {
        const res = await call(base, 'DELETE', `/me/stream-keys/${encodeURIComponent(id)}`, {
          token: vendor.token,
        });
        assert.equal(res.status, 404, `${id}: ${JSON.stringify(res.body)}`);
        assert.deepEqual(res.body, { detail: 'Stream key not found' });
      }
    });

    test('a key id in upper case revokes the key', async () => {
      const vendor = await register(base, 'vendor');
      const { body } = await create(vendor.token, { name: 'upper' });
      const res = await call(base, 'DELETE', `/me/stream-keys/${body.id.toUpperCase()}`, {
        token: vendor.token,
      });
      assert.equal(res.status, 204, JSON.stringify(res.body));
    });

    test('a viewer (role user) gets 403 on every stream-key route', async () => {
      const viewer = await register(base, 'user');
      const token = viewer.token;
      const id = '00000000-0000-4000-8000-000000000000';
      for (const res of [
        await call(base, 'GET', '/me/stream-keys', { token }),
        await create(token, { name: 'nope' }),
        await call(base, 'DELETE', `/me/stream-keys/${id}`, { token }),
      ]) {
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.deepEqual(res.body, { detail: 'vendor role required' });
      }
    });

    test('without a token every stream-key route is 401', async () => {
      assert.equal((await call(base, 'GET', '/me/stream-keys')).status, 401);
      assert.equal((await call(base, 'POST', '/me/stream-keys', { body: { name: 'x' } })).status, 401);
    });

    test('a vendor holds at most 20 keys at once; revoking one makes room', async () => {
      const vendor = await register(base, 'vendor');
      const created = [];
      for (let i = 0; i < MAX_STREAM_KEYS; i++) {
        const res = await create(vendor.token, { name: `key ${i}` });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        created.push(res.body);
      }
      const over = await create(vendor.token, { name: 'one too many' });
      assertValidationError(over, ['body', 'name']);
      assert.match(over.body.detail[0].msg, /20 stream keys/);
      await call(base, 'DELETE', `/me/stream-keys/${created[0].id}`, { token: vendor.token });
      assert.equal((await create(vendor.token, { name: 'fits again' })).status, 201);
    });

    test('a missing, empty, blank or too long name is refused with 422 at body.name', async () => {
      const vendor = await register(base, 'vendor');
      for (const body of [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { name: 42 }]) {
        assertValidationError(await create(vendor.token, body), ['body', 'name']);
      }
    });

    test('an empty, blank or too long title is refused with 422 at body.title', async () => {
      const vendor = await register(base, 'vendor');
      for (const title of ['', '  ', 't'.repeat(201)]) {
        assertValidationError(await create(vendor.token, { name: 'ok', title }), ['body', 'title']);
      }
    });

    test('a key whose owner was deleted is refused as unauthorized', async () => {
      const vendor = await register(base, 'vendor');
      const { body } = await create(vendor.token, { name: 'orphan' });
      await store.db.deleteFrom('users').where('id', '=', vendor.user.id).execute();
      await assertRefused(keys.authenticate(body.key), 'unauthorized', 'Invalid or revoked stream key');
    });

    test('a key whose owner is no longer a vendor is refused as forbidden', async () => {
      const vendor = await register(base, 'vendor');
      const { body } = await create(vendor.token, { name: 'demoted' });
      await store.db.updateTable('users').set({ role: 'user' }).where('id', '=', vendor.user.id).execute();
      await assertRefused(keys.authenticate(body.key), 'forbidden');
      const row = await store.db
        .selectFrom('stream_keys')
        .select('last_used_at')
        .where('id', '=', body.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.last_used_at, null, 'a refused key is not stamped as used');
    });
  });
}

streamKeySuite('postgres');
streamKeySuite('pglite');
