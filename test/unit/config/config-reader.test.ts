import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnvReader } from '../../../src/config-reader.js';

test('a whole number inside its bounds is read; outside them the default, and one line naming it', () => {
  const read = new EnvReader({ A: '7', B: '70', C: '1.5' });
  assert.equal(read.int('A', 1, 0, 10), 7);
  assert.equal(read.int('B', 1, 0, 10), 1);
  assert.equal(read.int('C', 1, 0, 10), 1);
  assert.equal(read.int('UNSET', 3, 0, 10), 3);
  assert.deepEqual(read.problems, [
    'B must be a whole number from 0 to 10 (got "70")',
    'C must be a whole number from 0 to 10 (got "1.5")',
  ]);
});

test('a list is split on commas or whitespace, and each bad entry is its own line', () => {
  const read = new EnvReader({ URLS: ' http://a, http://b  ftp://c,' });
  const rule = { entry: /^http:\/\//, mustBe: 'URLS entries must be http:// URLs' };
  assert.deepEqual(read.list('URLS', rule), ['http://a', 'http://b', 'ftp://c']);
  assert.deepEqual(read.problems, ['URLS entries must be http:// URLs (got "ftp://c")']);
});

test('on/off reads any case, and anything else is a problem that leaves it on', () => {
  const read = new EnvReader({ X: 'OFF', Y: 'maybe' });
  assert.equal(read.onOff('X'), false);
  assert.equal(read.onOff('Y'), true);
  assert.equal(read.onOff('UNSET'), true);
  assert.deepEqual(read.problems, ['Y must be on or off (got "maybe")']);
});

test('a rate rule and durations fall back to their defaults when bad', () => {
  const read = new EnvReader({ RULE: '5/1y', WAITS: '1s,1y' });
  assert.deepEqual(read.rateRule('RULE', '20/1m'), { max: 20, windowMs: 60_000 });
  assert.deepEqual(read.durations('WAITS', '10s,1m'), [10_000, 60_000]);
  assert.deepEqual(
    read.problems.map((line) => line.split(' ')[0]),
    ['RULE', 'WAITS'],
  );
});
