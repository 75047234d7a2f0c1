/** ReceiveBudget: a client's allowance of frame size, messages and bytes, on a manual clock. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReceiveBudget } from '../../../src/realtime/receive-budget.js';

const LIMITS = {
  maxFrameBytes: 1000,
  messagesPerSecond: 10,
  burst: 5,
  bytesPerSecond: 2000,
  burstBytes: 4000,
};

function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('ReceiveBudget', () => {
  test('refuses a frame over the size limit', () => {
    const budget = new ReceiveBudget(LIMITS, clock().now);
    assert.equal(budget.take(1001), 'too_large');
    assert.equal(budget.take(1000), undefined);
  });

  test('allows a burst of messages, then refuses until time refills it', () => {
    const time = clock();
    const budget = new ReceiveBudget(LIMITS, time.now);
    for (let i = 0; i < 5; i++) assert.equal(budget.take(1), undefined);
    assert.equal(budget.take(1), 'too_many_messages');
    time.advance(100);
    assert.equal(budget.take(1), undefined);
  });

  test('allows a burst of bytes, then refuses until time refills it', () => {
    const time = clock();
    const budget = new ReceiveBudget(LIMITS, time.now);
    for (let i = 0; i < 4; i++) assert.equal(budget.take(1000), undefined);
    assert.equal(budget.take(1000), 'too_many_bytes');
    time.advance(500);
    assert.equal(budget.take(1000), undefined);
  });

  test('refills messages at messagesPerSecond', () => {
    const time = clock();
    const budget = new ReceiveBudget(LIMITS, time.now);
    for (let i = 0; i < 5; i++) budget.take(1);
    time.advance(99);
    assert.equal(budget.take(1), 'too_many_messages', 'less than 1/10 s is less than one message');
    time.advance(1);
    assert.equal(budget.take(1), undefined);
  });

  test('a long pause refills no more than the burst of bytes', () => {
    const time = clock();
    const budget = new ReceiveBudget(LIMITS, time.now);
    time.advance(60_000);
    for (let i = 0; i < 4; i++) assert.equal(budget.take(1000), undefined);
    assert.equal(budget.take(1000), 'too_many_bytes');
  });

  test('a long pause refills no more than the burst of messages', () => {
    const time = clock();
    const budget = new ReceiveBudget(LIMITS, time.now);
    time.advance(60_000);
    for (let i = 0; i < 5; i++) assert.equal(budget.take(1), undefined);
    assert.equal(budget.take(1), 'too_many_messages');
  });

  test('a refused frame takes nothing from the allowance', () => {
    const time = clock();
    const budget = new ReceiveBudget(LIMITS, time.now);
    for (let i = 0; i < 3; i++) budget.take(1000);
    assert.equal(budget.take(1000), undefined, '1000 bytes left');
    assert.equal(budget.take(1), 'too_many_bytes');
    assert.equal(budget.take(1001), 'too_large');
    time.advance(1);
    assert.equal(budget.take(2), undefined, 'the 2 bytes refilled in 1 ms are all there');
  });
});
