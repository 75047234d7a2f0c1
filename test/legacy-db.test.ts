/**
 * Adopting the original service's database: an existing `users` table keeps its rows and its id
 * type (INTEGER or UUID), gains the columns this service needs, and its bcrypt users keep
 * logging in (and are moved to argon2id on the way).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import bcrypt from 'bcryptjs';
import { SignJWT } from 'jose';
import { sql } from 'kysely';
import pg from 'pg';
import { openStore, type Store } from '../src/db/store.js';
import { startApp, type RunningApp, type StoreKind } from './support/app.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { call, register } from './support/http.js';
import { needsPostgres } from './support/services.js';

/** An empty database of either kind that the test fills with legacy SQL before the app starts. */
interface LegacyDatabase {
  /** Runs SQL on the database before the app has touched it. */
  exec(statements: string): Promise<void>;
  /** Opens the store the way buildApp does (migrations included). */
  open(): Promise<Store>;
  drop(): Promise<void>;
}

async function legacyDatabase(kind: StoreKind): Promise<LegacyDatabase> {
  if (kind === 'postgres') {
    const database: ThrowawayDatabase = await createThrowawayDatabase('sm_legacy');
    return {
      async exec(statements) {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          await client.query(statements);
        } finally {
          await client.end();
        }
      },
      open: () => openStore({ databaseUrl: database.url, dataDir: 'memory://' }),
      drop: () => database.drop(),
    };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'streammeon-legacy-'));
  return {
    async exec(statements) {
      // The store keeps PGlite's files in DATA_DIR/pglite; write there first, then let go of it.
      const db = new PGlite(join(dataDir, 'pglite'));
      try {
        await db.exec(statements);
      } finally {
        await db.close();
      }
    },
    open: () => openStore({ databaseUrl: undefined, dataDir }),
    drop: () => rm(dataDir, { recursive: true, force: true }),
  };
}

const tokenClaims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

const OLD_PASSWORD = 'old password 123';

/** The original's users table, in the given id flavour, holding one bcrypt vendor and one user. */
function legacyUsersSql(idType: 'integer' | 'uuid'): string {
  const hash = bcrypt.hashSync(OLD_PASSWORD, 4);
  assert.ok(hash.startsWith('$2b$'));
  const idColumn =
    idType === 'integer' ? 'id serial primary key' : 'id uuid primary key default gen_random_uuid()';
  // The integer flavour also uses the original's naive timestamps, to adopt those too.
  const createdAt = idType === 'integer' ? 'timestamp without time zone' : 'timestamptz';
  return `
    create table users (
      ${idColumn},
      email varchar(255) not null unique,
      name varchar(255) not null,
      password_hash varchar(255) not null,
      role varchar(20) not null default 'user',
      created_at ${createdAt} not null default now()
    );
    insert into users (email, name, password_hash, role)
      values ('old.vendor@example.com', 'Old Vendor', '${hash}', 'vendor'),
             ('old.viewer@example.com', 'Old Viewer', '${hash}', 'user');`;
}

function legacySuite(kind: StoreKind, idType: 'integer' | 'uuid') {
  const skip = kind === 'postgres' ? needsPostgres() : undefined;
  describe(`legacy users table with ${idType} ids on ${kind}`, { skip }, () => {
    let database: LegacyDatabase;
    let store: Store;
    let running: RunningApp;
    let base: string;
    let oldVendorId: number | string;
    let oldViewerId: number | string;

    before(async () => {
      database = await legacyDatabase(kind);
      await database.exec(legacyUsersSql(idType));
      store = await database.open();
      running = await startApp({ store: kind, deps: { store } });
      base = running.baseUrl;
      const rows = await sql<{ id: number | string; email: string }>`select id, email from users`.execute(
        store.db,
      );
      oldVendorId = rows.rows.find((r) => r.email === 'old.vendor@example.com')!.id;
      oldViewerId = rows.rows.find((r) => r.email === 'old.viewer@example.com')!.id;
    });

    after(async () => {
      await running?.close();
      await store?.close();
      await database?.drop();
    });

    const hashOf = async (id: number | string) =>
      (
        await sql<{ password_hash: string }>`select password_hash from users where id = ${id}`.execute(
          store.db,
        )
      ).rows[0]!.password_hash;

    test(`the store reports ${idType} user ids`, () => {
      assert.equal(store.userIdType, idType);
    });

    test('the app is healthy on the adopted database', async () => {
      const res = await call(base, 'GET', '/health');
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });

    test('an old user logs in with the old password', async () => {
      const res = await call(base, 'POST', '/auth/login', {
        body: { email: 'old.vendor@example.com', password: OLD_PASSWORD },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user.id, oldVendorId);
      assert.equal(res.body.user.role, 'vendor');
      assert.equal(res.body.user.name, 'Old Vendor');
    });

    test('a successful login replaces the bcrypt hash with argon2id, and the password still works', async () => {
      assert.match(await hashOf(oldViewerId), /^\$2b\$/);
      const first = await call(base, 'POST', '/auth/login', {
        body: { email: 'old.viewer@example.com', password: OLD_PASSWORD },
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.match(await hashOf(oldViewerId), /^\$argon2id\$/);
      const again = await call(base, 'POST', '/auth/login', {
        body: { email: 'old.viewer@example.com', password: OLD_PASSWORD },
      });
      assert.equal(again.status, 200, JSON.stringify(again.body));
    });

    test('a wrong password on a bcrypt user is 400 and leaves the hash alone', async () => {
      await sql`update users set password_hash = ${bcrypt.hashSync(OLD_PASSWORD, 4)} where id = ${oldVendorId}`.execute(
        store.db,
      );
      const res = await call(base, 'POST', '/auth/login', {
        body: { email: 'old.vendor@example.com', password: 'not it' },
      });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { detail: 'Incorrect email/password' });
      assert.match(await hashOf(oldVendorId), /^\$2b\$/);
    });

    test("the token's sub is the old id, as a string", async () => {
      const res = await call(base, 'POST', '/auth/login', {
        body: { email: 'old.vendor@example.com', password: OLD_PASSWORD },
      });
      const claims = tokenClaims(res.body.access_token);
      assert.equal(claims.sub, String(oldVendorId));
      assert.equal(claims.role, 'vendor');
      const me = await call(base, 'GET', '/me', { token: res.body.access_token });
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.equal(me.body.id, oldVendorId);
    });

    test('sessions and comments reference old users by their old id', async () => {
      const vendor = await call(base, 'POST', '/auth/login', {
        body: { email: 'old.vendor@example.com', password: OLD_PASSWORD },
      });
      const viewer = await call(base, 'POST', '/auth/login', {
        body: { email: 'old.viewer@example.com', password: OLD_PASSWORD },
      });
      const created = await call(base, 'POST', '/live/sessions', {
        token: vendor.body.access_token,
        body: { title: 'Back on the new server' },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.deepEqual(created.body.vendor, { id: oldVendorId, name: 'Old Vendor' });

      const path = `/live/sessions/${created.body.session_id}/comments`;
      const posted = await call(base, 'POST', path, {
        token: viewer.body.access_token,
        body: { message: 'hi' },
      });
      assert.equal(posted.status, 200, JSON.stringify(posted.body));
      assert.equal(posted.body.user_id, oldViewerId);
      const listed = await call(base, 'GET', path);
      assert.deepEqual(
        listed.body.items.map((c: any) => [c.user_id, c.user_name]),
        [[oldViewerId, 'Old Viewer']],
      );

      const stored = await sql<{ vendor_id: unknown }>`
        select vendor_id from live_sessions where id = ${created.body.session_id}`.execute(store.db);
      assert.equal(stored.rows[0]!.vendor_id, oldVendorId);

      const ended = await call(base, 'POST', `/live/sessions/${created.body.session_id}/end`, {
        token: vendor.body.access_token,
      });
      assert.equal(ended.status, 200, JSON.stringify(ended.body));
    });

    if (idType === 'integer') {
      test('integer user ids appear as JSON numbers', async () => {
        const { user, token } = await register(base, 'vendor');
        assert.equal(typeof user.id, 'number');
        assert.ok(Number.isInteger(user.id));
        const created = await call(base, 'POST', '/live/sessions', { token, body: { title: 'numbers' } });
        assert.equal(typeof created.body.vendor.id, 'number');
        const comment = await call(base, 'POST', `/live/sessions/${created.body.session_id}/comments`, {
          token,
          body: { message: 'n' },
        });
        assert.equal(typeof comment.body.user_id, 'number');
        assert.equal(typeof oldVendorId, 'number');
      });

      test('a validly signed token whose sub is a UUID is refused with 401 on an integer database', async () => {
        const token = await new SignJWT({ role: 'user', name: 'Stranger' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(running.config.jwtSecret));
        const res = await call(base, 'GET', '/me', { token });
        assert.equal(res.status, 401);
      });
    } else {
      test('UUID user ids appear as strings', async () => {
        const { user } = await register(base);
        assert.match(String(user.id), /^[0-9a-f-]{36}$/);
        assert.equal(typeof oldVendorId, 'string');
      });
    }

    test('the new tables reference users.id with its own type', async () => {
      const rows = await sql<{ table_name: string; column_name: string; data_type: string }>`
        select table_name, column_name, data_type from information_schema.columns
        where table_schema = current_schema()
          and (table_name, column_name) in (('users', 'id'), ('live_sessions', 'vendor_id'),
                                            ('comments', 'user_id'), ('session_views', 'user_id'))`.execute(
        store.db,
      );
      assert.equal(rows.rows.length, 4);
      const expected = idType === 'integer' ? 'integer' : 'uuid';
      for (const row of rows.rows)
        assert.equal(row.data_type, expected, `${row.table_name}.${row.column_name}`);
    });
  });
}

/** The oldest variants of the original lacked columns this service needs. */
function missingColumnsSuite(kind: StoreKind) {
  const skip = kind === 'postgres' ? needsPostgres() : undefined;
  describe(`legacy users table missing role and created_at on ${kind}`, { skip }, () => {
    let database: LegacyDatabase;
    let store: Store;
    let running: RunningApp;

    before(async () => {
      database = await legacyDatabase(kind);
      const hash = bcrypt.hashSync(OLD_PASSWORD, 4);
      await database.exec(`
        create table users (id serial primary key, email text not null, name text not null, password_hash text not null);
        insert into users (email, name, password_hash) values ('bare@example.com', 'Bare', '${hash}');`);
      store = await database.open();
      running = await startApp({ store: kind, deps: { store } });
    });

    after(async () => {
      await running?.close();
      await store?.close();
      await database?.drop();
    });

    test('the missing columns are added, existing rows get role user and a created_at', async () => {
      const rows = await sql<{ role: string; created_at: Date | null }>`
        select role, created_at from users where email = 'bare@example.com'`.execute(store.db);
      assert.equal(rows.rows[0]!.role, 'user');
      assert.ok(rows.rows[0]!.created_at instanceof Date);
    });

    test('the old user logs in and is a plain user', async () => {
      const res = await call(running.baseUrl, 'POST', '/auth/login', {
        body: { email: 'bare@example.com', password: OLD_PASSWORD },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user.role, 'user');
      assert.equal(typeof res.body.user.id, 'number');
      assert.match(res.body.user.created_at, /Z$/);
    });

    test('new users register alongside the old one', async () => {
      const { user } = await register(running.baseUrl, 'vendor');
      assert.equal(user.role, 'vendor');
      assert.equal(typeof user.id, 'number');
    });
  });
}

legacySuite('postgres', 'integer');
legacySuite('postgres', 'uuid');
legacySuite('pglite', 'integer');
legacySuite('pglite', 'uuid');
missingColumnsSuite('postgres');
missingColumnsSuite('pglite');
