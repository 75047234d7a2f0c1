import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionPage } from '../../../src/contract/rest.js';
import { LobbySnapshot } from '../../../src/http/lobby-snapshot.js';

/** A snapshot over a lobby that counts its reads, on a clock the test sets. */
function setup(maxAgeMs = 1_000) {
  let reads = 0;
  let now = 1_000_000;
  const snapshot = new LobbySnapshot(
    async (): Promise<SessionPage> => {
      reads += 1;
      return { items: [], next_cursor: null };
    },
    maxAgeMs,
    () => now,
  );
  const get = () => snapshot.get(50, undefined, (page) => JSON.stringify(page));
  return { snapshot, get, reads: () => reads, set: (ms: number) => (now = ms) };
}

test('a page younger than the bound is served without a read; an older one is read again', async () => {
  const { get, reads, set } = setup();
  await get();
  set(1_000_999);
  await get();
  assert.equal(reads(), 1);
  set(1_001_000);
  await get();
  assert.equal(reads(), 2);
});

test('a clock that went back makes the page stale, not fresh for as long as it went back', async () => {
  const { get, reads, set } = setup();
  await get();
  set(1_000_000 - 60_000);
  await get();
  assert.equal(reads(), 2);
});

test('invalidate() makes the next request read', async () => {
  const { snapshot, get, reads } = setup();
  await get();
  snapshot.invalidate();
  await get();
  assert.equal(reads(), 2);
});
