/** HTTP Range (RFC 9110 §14) as the replay media route reads it: one range, or the whole file. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRange } from '../../../src/http/routes/replays.js';

describe('parseRange', () => {
  test('no header, another unit, several ranges or malformed: the whole file', () => {
    for (const header of [
      undefined,
      '',
      'items=0-5',
      'bytes=0-5,10-20',
      'bytes=abc',
      'bytes=-',
      'bytes=9-3',
    ]) {
      assert.deepEqual(parseRange(header, 100), { kind: 'full' }, String(header));
    }
  });

  test('bytes=a-b: inclusive, the end cut to the last byte', () => {
    assert.deepEqual(parseRange('bytes=10-19', 100), { kind: 'partial', start: 10, end: 19 });
    assert.deepEqual(parseRange('bytes=0-0', 100), { kind: 'partial', start: 0, end: 0 });
    assert.deepEqual(parseRange('bytes=90-500', 100), { kind: 'partial', start: 90, end: 99 });
    assert.deepEqual(parseRange('BYTES = 5 - 6', 100), { kind: 'partial', start: 5, end: 6 });
  });

  test('bytes=a-: to the end', () => {
    assert.deepEqual(parseRange('bytes=40-', 100), { kind: 'partial', start: 40, end: 99 });
    assert.deepEqual(parseRange('bytes=99-', 100), { kind: 'partial', start: 99, end: 99 });
  });

  test('bytes=-n: the last n bytes, or the whole file when n is larger', () => {
    assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-1000', 100), { kind: 'partial', start: 0, end: 99 });
  });

  test('beyond the end, an empty suffix or an empty file: unsatisfiable', () => {
    assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=100-200', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-5', 0), { kind: 'unsatisfiable' });
  });

  test('numbers too large to be exact are not a range', () => {
    assert.deepEqual(parseRange('bytes=99999999999999999999-', 100), { kind: 'full' });
  });
});
