/**
 * Migration 004-ops on a database that already has sessions: each session that had ended gets its
 * stats from what the database knows, with peak_viewers null (never measured); live ones get none.
 */
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { after, before, describe, test } from 'node:test';
import { migrations } from '../../../src/db/migrations/index.js';
import type { Database } from '../../../src/db/schema.js';

describe('migration 004-ops', () => {
  let db: Kysely<Database>;
  let ended: string;
  let live: string;

  before(async () => {
    db = new Kysely<Database>({ dialect: new PGliteDialect(new PGlite()) });
    const all = await migrations.getMigrations();
    const before004 = Object.fromEntries(Object.entries(all).filter(([name]) => name < '004'));
    const upTo = (provided: typeof all) =>
      new Migrator({ db, provider: { getMigrations: async () => provided } }).migrateToLatest();
    assert.equal((await upTo(before004)).error, undefined);
    const { id: vendor } = await db
      .insertInto('users')
      .values({ email: 'v@example.com', name: 'V', password_hash: 'x', role: 'vendor' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const { id: viewer } = await db
      .insertInto('users')
      .values({ email: 'u@example.com', name: 'U', password_hash: 'x', role: 'user' })
      .returning('id')
      .executeTakeFirstOrThrow();
    ({ id: ended } = await db
      .insertInto('live_sessions')
      .values({
        vendor_id: vendor,
        title: 'old',
        is_live: false,
        started_at: new Date('2026-01-01T10:00:00Z'),
        ended_at: new Date('2026-01-01T10:20:30Z'),
      })
      .returning('id')
      .executeTakeFirstOrThrow());
    ({ id: live } = await db
      .insertInto('live_sessions')
      .values({ vendor_id: vendor, title: 'now' })
      .returning('id')
      .executeTakeFirstOrThrow());
    await db.insertInto('session_views').values({ session_id: ended, user_id: viewer }).execute();
    for (const message of ['a', 'b']) {
      await sql`insert into comments (session_id, user_id, message, event_offset)
        values (${ended}, ${viewer}, ${message}, (select coalesce(max(event_offset), 0) + 1 from comments))`.execute(
        db,
      );
    }
    assert.equal((await upTo(all)).error, undefined);
  });
  after(async () => {
    await db.destroy();
  });

  test('an ended session gets its stats from the database, with peak_viewers null', async () => {
    const stats = await db
      .selectFrom('session_stats')
      .selectAll()
      .where('session_id', '=', ended)
      .executeTakeFirst();
    assert.deepEqual(
      { ...stats, recorded_at: undefined },
      {
        session_id: ended,
        peak_viewers: null,
        unique_views: 1,
        comments: 2,
        duration_seconds: 1230,
        // Migration 008 came later: a session that ended before it has no reaction totals recorded.
        reactions: null,
        recorded_at: undefined,
      },
    );
  });

  test('a live session gets no stats', async () => {
    const stats = await db
      .selectFrom('session_stats')
      .selectAll()
      .where('session_id', '=', live)
      .executeTakeFirst();
    assert.equal(stats, undefined);
  });
});
