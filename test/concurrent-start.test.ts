/**
 * Two instances started at the same moment on an empty PostgreSQL database: the migration lock
 * lets one apply the schema while the other waits, and both come up healthy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { migrations } from '../src/db/migrations/index.js';
import { openStore, type Store } from '../src/db/store.js';
import { call, register } from './support/http.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import { needsPostgres } from './support/services.js';

describe('two instances starting at once on an empty PostgreSQL database', { skip: needsPostgres() }, () => {
  let database: ThrowawayDatabase;
  const servers: ServerProcess[] = [];
  let startup: PromiseSettledResult<ServerProcess>[];

  before(async () => {
    database = await createThrowawayDatabase('sm_concurrent');
    const env = { DATABASE_URL: database.url };
    startup = await Promise.allSettled([startServerProcess(env), startServerProcess(env)]);
    for (const result of startup) if (result.status === 'fulfilled') servers.push(result.value);
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await database?.drop();
  });

  test('both come up and answer /health with 200', async () => {
    const failures = startup.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
    assert.deepEqual(failures, []);
    for (const server of servers) {
      const res = await call(server.baseUrl, 'GET', '/health');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.db_kind, 'postgres');
    }
  });

  test('each migration is recorded exactly once', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>(
        'select name from kysely_migration order by name',
      );
      const expected = Object.keys(await migrations.getMigrations()).sort();
      assert.deepEqual(
        rows.map((r) => r.name),
        expected,
      );
    } finally {
      await client.end();
    }
  });

  test('both instances share one database: a user registered on one logs in on the other', async () => {
    assert.equal(servers.length, 2);
    const [first, second] = servers as [ServerProcess, ServerProcess];
    const vendor = await register(first.baseUrl, 'vendor');
    const login = await call(second.baseUrl, 'POST', '/auth/login', {
      body: { email: vendor.user.email, password: 'correct horse' },
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const created = await call(second.baseUrl, 'POST', '/live/sessions', {
      token: login.body.access_token,
      body: { title: 'seen from both' },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const fetched = await call(first.baseUrl, 'GET', `/live/sessions/${created.body.session_id}`);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.body.title, 'seen from both');
  });
});

describe('many stores opening at once on an empty PostgreSQL database', { skip: needsPostgres() }, () => {
  let database: ThrowawayDatabase;
  const stores: Store[] = [];
  let opened: PromiseSettledResult<Store>[];

  before(async () => {
    database = await createThrowawayDatabase('sm_concurrent');
    // In one process the starts coincide far more tightly than two spawned processes manage.
    opened = await Promise.allSettled(
      Array.from({ length: 6 }, () =>
        openStore({ databaseUrl: database.url, dataDir: 'memory://', poolSize: 2 }),
      ),
    );
    for (const result of opened) if (result.status === 'fulfilled') stores.push(result.value);
  });

  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await database?.drop();
  });

  test('every one of them opens, and each migration is recorded once', async () => {
    assert.deepEqual(
      opened.filter((r) => r.status === 'rejected').map((r) => String(r.reason)),
      [],
    );
    const names = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
      stores[0]!.db,
    );
    assert.deepEqual(
      names.rows.map((r) => r.name),
      Object.keys(await migrations.getMigrations()).sort(),
    );
  });
});
