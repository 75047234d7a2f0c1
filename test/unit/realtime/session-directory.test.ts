/** SessionDirectory: one read per session for a join storm, bounded staleness, and eviction. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionDirectory } from '../../../src/realtime/session-directory.js';

type Sessions = ConstructorParameters<typeof SessionDirectory>[0];
type Facts = NonNullable<Awaited<ReturnType<SessionDirectory['lookup']>>>;

const TTL = 2_000;

const facts = (id: string, is_live = true): Facts => ({
  id,
  title: 'a session',
  is_live,
  started_at: new Date(0),
  ended_at: null,
  vendor_id: 'vendor',
  vendor_name: 'Vendor',
  thumbnail_at: null,
  chat: { pinned: null, slow_mode_seconds: 0, offset: 0 },
});

/** A session store whose reads the test answers one by one; `reads` counts them. */
function fakeSessions() {
  const pending: { resolve: (f: Facts | undefined) => void; reject: (e: Error) => void }[] = [];
  const store = {
    reads: 0,
    /** Answers the oldest unanswered read. */
    answer(value: Facts | undefined) {
      pending.shift()?.resolve(value);
    },
    fail(error = new Error('database down')) {
      pending.shift()?.reject(error);
    },
    find(): Promise<Facts | undefined> {
      store.reads++;
      return new Promise((resolve, reject) => pending.push({ resolve, reject }));
    },
  };
  return store;
}

function directory() {
  const sessions = fakeSessions();
  let now = 1_000;
  const dir = new SessionDirectory(sessions as unknown as Sessions, TTL, 10_000, () => now);
  return { dir, sessions, advance: (ms: number) => (now += ms), now: () => now };
}

describe('SessionDirectory', () => {
  test('concurrent lookups of one session share one read', async () => {
    const { dir, sessions } = directory();
    const lookups = [dir.lookup('s'), dir.lookup('s'), dir.lookup('s')];
    assert.equal(sessions.reads, 1);
    sessions.answer(facts('s'));
    for (const f of await Promise.all(lookups)) assert.equal(f?.id, 's');
  });

  test('a lookup within ttlMs of the read is answered from the cache', async () => {
    const { dir, sessions, advance } = directory();
    const first = dir.lookup('s');
    sessions.answer(facts('s'));
    await first;
    advance(TTL - 1);
    assert.equal((await dir.lookup('s'))?.id, 's');
    assert.equal(sessions.reads, 1);
  });

  test('a lookup ttlMs after the read reads again', async () => {
    const { dir, sessions, advance } = directory();
    const first = dir.lookup('s');
    sessions.answer(facts('s'));
    await first;
    advance(TTL);
    const second = dir.lookup('s');
    assert.equal(sessions.reads, 2);
    sessions.answer(facts('s', false));
    assert.equal((await second)?.is_live, false);
  });

  test('freshAfter later than the cached read forces a new read', async () => {
    const { dir, sessions, advance, now } = directory();
    const first = dir.lookup('s');
    sessions.answer(facts('s'));
    await first;
    advance(1);
    const fresh = dir.lookup('s', now());
    assert.equal(sessions.reads, 2);
    sessions.answer(facts('s', false));
    assert.equal((await fresh)?.is_live, false);
  });

  test('freshAfter no later than the cached read is answered from the cache', async () => {
    const { dir, sessions, advance, now } = directory();
    const readAt = now();
    const first = dir.lookup('s');
    sessions.answer(facts('s'));
    await first;
    advance(1);
    await dir.lookup('s', readAt);
    assert.equal(sessions.reads, 1);
  });

  test('a failed read is not remembered: the next lookup reads again', async () => {
    const { dir, sessions } = directory();
    const failed = dir.lookup('s');
    sessions.fail();
    await assert.rejects(failed, /database down/);
    const retried = dir.lookup('s');
    assert.equal(sessions.reads, 2);
    sessions.answer(facts('s'));
    assert.equal((await retried)?.id, 's');
  });

  test('an older read failing does not evict the newer read that replaced it', async () => {
    const { dir, sessions, advance } = directory();
    const older = dir.lookup('s');
    advance(TTL);
    const newer = dir.lookup('s');
    sessions.fail();
    await assert.rejects(older);
    sessions.answer(facts('s'));
    await newer;
    await dir.lookup('s');
    assert.equal(sessions.reads, 2);
  });

  test('ended() evicts the session: the next lookup reads again', async () => {
    const { dir, sessions } = directory();
    const first = dir.lookup('s');
    sessions.answer(facts('s'));
    await first;
    dir.ended('s');
    void dir.lookup('s');
    assert.equal(sessions.reads, 2);
  });

  test('sessions are cached apart', async () => {
    const { dir, sessions } = directory();
    const a = dir.lookup('a');
    const b = dir.lookup('b');
    assert.equal(sessions.reads, 2);
    sessions.answer(facts('a'));
    sessions.answer(facts('b'));
    assert.deepEqual([(await a)?.id, (await b)?.id], ['a', 'b']);
  });

  test('an unknown session is cached as unknown too', async () => {
    const { dir, sessions } = directory();
    const first = dir.lookup('nope');
    sessions.answer(undefined);
    assert.equal(await first, undefined);
    assert.equal(await dir.lookup('nope'), undefined);
    assert.equal(sessions.reads, 1);
  });

  test('the cache holds at most maxEntries sessions', async () => {
    const sessions = fakeSessions();
    const dir = new SessionDirectory(sessions as unknown as Sessions, TTL, 2, () => 0);
    void dir.lookup('a');
    void dir.lookup('b');
    void dir.lookup('c'); // full: the cache starts over
    void dir.lookup('a');
    assert.equal(sessions.reads, 4);
  });
});
