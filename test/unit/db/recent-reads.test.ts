import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RecentReads } from '../../../src/db/recent-reads.js';

/** Reads that count themselves and finish when the test says, on a clock the test sets. */
function setup(maxAgeMs = 1_000, maxKeys?: number) {
  let now = 1_000_000;
  let reads = 0;
  const pending: ((value: string) => void)[] = [];
  const recent = new RecentReads<string>(maxAgeMs, () => now, maxKeys);
  const load = () => {
    reads += 1;
    return new Promise<string>((resolve) => pending.push(resolve));
  };
  const finish = (value: string) => pending.shift()!(value);
  return { recent, load, finish, reads: () => reads, set: (ms: number) => (now = ms) };
}

describe('RecentReads', () => {
  test('requests that miss while a read is under way share that one read', async () => {
    const { recent, load, finish, reads } = setup();
    const first = recent.get('a', load);
    const second = recent.get('a', load);
    finish('v1');
    assert.deepEqual(await Promise.all([first, second]), ['v1', 'v1']);
    assert.equal(reads(), 1);
  });

  test('a value is served for maxAgeMs from when its read started, then read again', async () => {
    const { recent, load, finish, reads, set } = setup();
    const first = recent.get('a', load);
    set(1_000_500);
    finish('v1');
    await first;
    set(1_000_999);
    assert.equal(await recent.get('a', load), 'v1');
    set(1_001_000);
    const again = recent.get('a', load);
    finish('v2');
    assert.equal(await again, 'v2');
    assert.equal(reads(), 2);
  });

  test('a read under way when its key is forgotten answers its callers but is not kept', async () => {
    const { recent, load, finish, reads } = setup();
    const before = recent.get('a', load);
    recent.forget('a');
    const after = recent.get('a', load);
    finish('old');
    finish('new');
    assert.equal(await before, 'old');
    assert.equal(await after, 'new');
    assert.equal(await recent.get('a', load), 'new');
    assert.equal(reads(), 2);
  });

  test('a value that keep() refuses is never served to a later request', async () => {
    const { recent, load, finish, reads } = setup();
    const first = recent.get('a', load, (v) => v !== 'ended');
    finish('ended');
    await first;
    const second = recent.get('a', load, (v) => v !== 'ended');
    finish('ended');
    await second;
    assert.equal(reads(), 2);
  });

  test('forgetAll() makes every key read again', async () => {
    const { recent, load, finish, reads } = setup();
    for (const key of ['a', 'b']) {
      const read = recent.get(key, load);
      finish(key);
      await read;
    }
    recent.forgetAll();
    const again = recent.get('a', load);
    finish('a2');
    assert.equal(await again, 'a2');
    assert.equal(reads(), 3);
  });

  test('past maxKeys the oldest key is dropped', async () => {
    const { recent, load, finish, reads } = setup(1_000, 2);
    for (const key of ['a', 'b', 'c']) {
      const read = recent.get(key, load);
      finish(key);
      await read;
    }
    const b = recent.get('b', load);
    assert.equal(await b, 'b');
    assert.equal(reads(), 3);
    const a = recent.get('a', load);
    finish('a2');
    assert.equal(await a, 'a2');
    assert.equal(reads(), 4);
  });

  test('a failed read is not kept: the next request reads again', async () => {
    let calls = 0;
    const recent = new RecentReads<string>(1_000, () => 0);
    await assert.rejects(
      recent.get('a', async () => {
        calls += 1;
        throw new Error('down');
      }),
      /down/,
    );
    assert.equal(await recent.get('a', async () => `ok ${++calls}`), 'ok 2');
  });
});
