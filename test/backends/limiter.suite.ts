/**
 * The contract of Limiter (src/limits/limiter.ts), fixed windows per key, run against every
 * backend: memory in test/unit/limits/limiter-memory.test.ts, Redis in test/limiter-redis.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Limiter } from '../../src/limits/limiter.js';

/** One backend as the suite uses it: fresh for each test. */
export interface LimiterBackend {
  /** A new instance (as one server process would have). */
  open(): Promise<Limiter>;
  /** Lets `ms` pass for the limiter's windows: a manual clock moved, or real time slept. */
  wait(ms: number): Promise<void>;
  /** Closes every instance opened and removes whatever the backend stored. */
  cleanup(): Promise<void>;
}

export interface LimiterFactory {
  create(): LimiterBackend;
  /** True when the instances of one backend count together (Redis); false when each is alone. */
  shared: boolean;
  /** The window the tests use: long enough for a few hits, short enough to wait out. */
  windowMs: number;
}

export function limiterSuite(name: string, factory: LimiterFactory): void {
  const W = factory.windowMs;

  describe(`Limiter contract: ${name}`, () => {
    let backend: LimiterBackend;
    let key: string;
    beforeEach(() => {
      backend = factory.create();
      key = `test:${crypto.randomUUID()}`;
    });
    afterEach(async () => {
      await backend.cleanup();
    });

    test("a key's first hit counts 1 and opens a window of windowMs", async () => {
      const limiter = await backend.open();
      const { count, resetMs } = await limiter.hit(key, W);
      assert.equal(count, 1);
      assert.ok(resetMs > W * 0.9 && resetMs <= W, `resetMs ${resetMs}`);
    });

    test('hits within one window count up', async () => {
      const limiter = await backend.open();
      const counts = [];
      for (let i = 0; i < 5; i++) counts.push((await limiter.hit(key, W)).count);
      assert.deepEqual(counts, [1, 2, 3, 4, 5]);
    });

    test('keys are counted apart', async () => {
      const limiter = await backend.open();
      await limiter.hit(key, W);
      await limiter.hit(key, W);
      assert.equal((await limiter.hit(`${key}:other`, W)).count, 1);
      assert.equal((await limiter.hit(key, W)).count, 3);
    });

    test('resetMs is the time left until the window closes (the retry-after)', async () => {
      const limiter = await backend.open();
      await limiter.hit(key, W);
      await backend.wait(W / 2);
      const { resetMs } = await limiter.hit(key, W);
      assert.ok(resetMs > 0 && resetMs <= W / 2, `resetMs ${resetMs}`);
    });

    test('a later hit does not extend the window', async () => {
      const limiter = await backend.open();
      await limiter.hit(key, W);
      await backend.wait(W / 2);
      await limiter.hit(key, W);
      await backend.wait(W / 2);
      assert.equal((await limiter.hit(key, W)).count, 1);
    });

    test('once the window closed, the count starts again from 1 in a new window', async () => {
      const limiter = await backend.open();
      for (let i = 0; i < 3; i++) await limiter.hit(key, W);
      await backend.wait(W);
      const { count, resetMs } = await limiter.hit(key, W);
      assert.equal(count, 1);
      assert.ok(resetMs > W * 0.9, `resetMs ${resetMs}`);
    });

    if (factory.shared) {
      test('instances count one key together', async () => {
        const [a, b] = [await backend.open(), await backend.open()];
        await a.hit(key, W);
        await b.hit(key, W);
        assert.equal((await a.hit(key, W)).count, 3);
      });
    }
  });
}
