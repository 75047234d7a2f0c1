/**
 * ChatLog on PostgreSQL: offsets follow commit order, replays say when they are complete, and a
 * reconnect storm shares reads only when sharing cannot leave a gap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore, type Store } from '../src/db/store.js';
import { ChatLog, MAX_REPLAY } from '../src/live/chat-log.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { needsPostgres } from './support/services.js';

describe('ChatLog', { skip: needsPostgres() }, () => {
  let database: ThrowawayDatabase;
  let store: Store;
  let sessionId: string;

  before(async () => {
    database = await createThrowawayDatabase();
    store = await openStore({ databaseUrl: database.url, dataDir: 'memory://' });
    const vendor = await store.db
      .insertInto('users')
      .values({ email: 'v@example.com', name: 'v', password_hash: 'x', role: 'vendor' })
      .returning('id')
      .executeTakeFirstOrThrow();
    sessionId = (
      await store.db
        .insertInto('live_sessions')
        .values({ vendor_id: vendor.id, title: 't', ended_at: null })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  });
  after(async () => {
    await store?.close();
    await database?.drop();
  });

  /** Appends `n` settings events; returns the last offset. */
  const append = async (log: ChatLog, n: number) => {
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const { message } = await store.db.transaction().execute((trx) =>
        log.append(trx, sessionId, (o) => ({
          type: 'chat_settings' as const,
          slow_mode_seconds: i,
          offset: o,
        })),
      );
      offset = message.offset;
    }
    return offset;
  };

  test('concurrent appends get consecutive offsets, in commit order', async () => {
    const log = new ChatLog(store.db);
    const before = await append(log, 1);
    const offsets = await Promise.all(Array.from({ length: 20 }, () => append(log, 1)));
    assert.deepEqual(
      offsets.sort((a, b) => a - b),
      offsets.map((_, i) => before + 1 + i),
    );
  });

  test('a replay returns the frames after since, as stored, and where it ended', async () => {
    const log = new ChatLog(store.db);
    const since = await append(log, 1);
    const last = await append(log, 3);
    const replay = await log.replay(sessionId, since, { at: 0, covers: 0 });
    assert.ok(replay.complete);
    assert.equal(replay.offset, last);
    assert.deepEqual(
      replay.frames.map((f) => (JSON.parse(f) as { offset: number }).offset),
      [since + 1, since + 2, since + 3],
    );
  });

  test('an offset the session never had, or too much missed, is incomplete', async () => {
    const log = new ChatLog(store.db);
    const last = await append(log, 1);
    for (const since of [last + 1, -1, 1.5]) {
      assert.equal((await log.replay(sessionId, since, { at: 0, covers: 0 })).complete, false, String(since));
    }
    await append(log, MAX_REPLAY + 1);
    assert.equal((await log.replay(sessionId, last, { at: 0, covers: 0 })).complete, false);
  });

  test('a read that started before the caller joined is shared only when it covers what the room delivered', async () => {
    let now = 0;
    const log = new ChatLog(store.db, () => now);
    const since = await append(log, 1);
    now = 10;
    const first = await log.replay(sessionId, since, { at: 5, covers: 0 });
    assert.ok(first.complete);
    const later = await append(log, 2);
    // Joined at 20, after that read (started at 10): it covers nothing delivered after it...
    now = 30;
    const stale = await log.replay(sessionId, since, { at: 20, covers: later });
    assert.ok(stale.complete);
    assert.equal(stale.offset, later, 'a fresh read, not the shared one');
    // ...while a caller that joined after a read started shares it, and so does one that
    // joined before it but whose room had delivered no more than it holds.
    const after = await log.replay(sessionId, since, { at: 25, covers: 0 });
    assert.equal(after, stale);
    now = 40;
    const covered = await log.replay(sessionId, since, { at: 35, covers: stale.offset });
    assert.equal(covered, stale);
    const uncovered = await log.replay(sessionId, since, { at: 35, covers: stale.offset + 1 });
    assert.notEqual(uncovered, stale);
  });
});
