/**
 * The contract of Presence (src/realtime/presence.ts), run against every backend: memory in
 * test/unit/realtime/presence-memory.test.ts, Redis in test/presence-redis.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Presence } from '../../src/realtime/presence.js';
import { eventually, sleep } from '../support/ws.js';

export interface PresenceInstance {
  presence: Presence;
  /** Stops the instance as a crash would: no goodbye, its heartbeat just stops. */
  crash(): Promise<void>;
}

/** One backend as the suite uses it: fresh for each test. */
export interface PresenceBackend {
  /** A new instance (as one server process would have). */
  open(): Promise<PresenceInstance>;
  /** Closes every instance opened and removes whatever the backend stored. */
  cleanup(): Promise<void>;
}

export interface PresenceFactory {
  create(): PresenceBackend;
  /** True when the instances of one backend count together (Redis); false when each is alone. */
  shared: boolean;
  /** How long a crashed instance keeps counting, for backends that expire it. */
  ttlMs?: number;
}

export function presenceSuite(name: string, factory: PresenceFactory): void {
  describe(`Presence contract: ${name}`, () => {
    let backend: PresenceBackend;
    let s1: string;
    let s2: string;
    beforeEach(() => {
      backend = factory.create();
      [s1, s2] = [crypto.randomUUID(), crypto.randomUUID()];
    });
    afterEach(async () => {
      await backend.cleanup();
    });

    test('count is the number of connections added', async () => {
      const { presence } = await backend.open();
      for (let i = 0; i < 3; i++) presence.add(s1);
      assert.equal(await presence.count(s1), 3);
    });

    test('remove takes one connection away', async () => {
      const { presence } = await backend.open();
      presence.add(s1);
      presence.add(s1);
      presence.remove(s1);
      assert.equal(await presence.count(s1), 1);
    });

    test('a session nobody joined counts 0', async () => {
      const { presence } = await backend.open();
      assert.equal(await presence.count(s1), 0);
    });

    test('removing more connections than were added counts 0, never less', async () => {
      const { presence } = await backend.open();
      presence.add(s1);
      presence.remove(s1);
      presence.remove(s1);
      assert.equal(await presence.count(s1), 0);
      presence.add(s1);
      assert.equal(await presence.count(s1), 1);
    });

    test('counts answers for many sessions at once, 0 for those nobody joined', async () => {
      const { presence } = await backend.open();
      presence.add(s1);
      presence.add(s2);
      presence.add(s2);
      const none = crypto.randomUUID();
      assert.deepEqual(
        await presence.counts([s1, s2, none]),
        new Map([
          [s1, 1],
          [s2, 2],
          [none, 0],
        ]),
      );
    });

    test('counts of no sessions is an empty map', async () => {
      const { presence } = await backend.open();
      assert.deepEqual(await presence.counts([]), new Map());
    });

    test('peak is the most connections there were at once', async () => {
      const { presence } = await backend.open();
      for (let i = 0; i < 3; i++) presence.add(s1);
      presence.remove(s1);
      presence.remove(s1);
      presence.add(s1);
      await eventually(async () => (await presence.peak(s1)) === 3, 'the peak is 3');
      await sleep(50);
      assert.equal(await presence.peak(s1), 3);
    });

    test('a session nobody joined has a peak of 0', async () => {
      const { presence } = await backend.open();
      assert.equal(await presence.peak(s1), 0);
    });

    test('forgetPeak lets the peak go', async () => {
      const { presence } = await backend.open();
      presence.add(s1);
      await eventually(async () => (await presence.peak(s1)) === 1, 'the peak is 1');
      presence.remove(s1);
      presence.forgetPeak(s1);
      await eventually(async () => (await presence.peak(s1)) === 0, 'the peak is forgotten');
    });

    test("close withdraws the instance's connections", async () => {
      const { presence } = await backend.open();
      presence.add(s1);
      await presence.close();
      assert.equal(await presence.count(s1), 0);
    });

    if (factory.shared) {
      describe('across instances', () => {
        test('counts add up across instances', async () => {
          const [a, b] = [await backend.open(), await backend.open()];
          a.presence.add(s1);
          b.presence.add(s1);
          b.presence.add(s1);
          await eventually(async () => (await a.presence.count(s1)) === 3, 'a counts 3');
          assert.equal(await b.presence.count(s1), 3);
        });

        test('peak is the most connections at once summed across instances', async () => {
          const [a, b] = [await backend.open(), await backend.open()];
          a.presence.add(s1);
          a.presence.add(s1);
          await eventually(async () => (await b.presence.peak(s1)) === 2, 'b sees a peak of 2');
          b.presence.add(s1);
          await eventually(async () => (await a.presence.peak(s1)) === 3, 'a sees a peak of 3');
          a.presence.remove(s1);
          a.presence.remove(s1);
          b.presence.add(s1);
          await sleep(100);
          assert.equal(await a.presence.peak(s1), 3, 'two on b after two left a is not a new peak');
        });

        test("counts answers each session with every instance's connections", async () => {
          const [a, b] = [await backend.open(), await backend.open()];
          a.presence.add(s1);
          b.presence.add(s2);
          b.presence.add(s2);
          await eventually(
            async () => (await a.presence.counts([s1, s2])).get(s2) === 2,
            "a counts b's connections",
          );
          assert.deepEqual(
            await a.presence.counts([s1, s2]),
            new Map([
              [s1, 1],
              [s2, 2],
            ]),
          );
        });

        test('a removal on one instance shows on the other', async () => {
          const [a, b] = [await backend.open(), await backend.open()];
          b.presence.add(s1);
          b.presence.add(s1);
          await eventually(async () => (await a.presence.count(s1)) === 2, 'a counts 2');
          b.presence.remove(s1);
          await eventually(async () => (await a.presence.count(s1)) === 1, 'a counts 1');
        });

        test('an instance that closed is no longer counted by the others', async () => {
          const [a, b] = [await backend.open(), await backend.open()];
          a.presence.add(s1);
          b.presence.add(s1);
          await eventually(async () => (await a.presence.count(s1)) === 2, 'a counts 2');
          await b.presence.close();
          assert.equal(await a.presence.count(s1), 1);
        });

        if (factory.ttlMs !== undefined) {
          const ttlMs = factory.ttlMs;
          test("a crashed instance's connections stop counting after its TTL", async () => {
            const [a, b] = [await backend.open(), await backend.open()];
            a.presence.add(s1);
            b.presence.add(s1);
            await eventually(async () => (await a.presence.count(s1)) === 2, 'a counts 2');
            await b.crash();
            assert.equal(await a.presence.count(s1), 2, 'a crash says no goodbye');
            await eventually(async () => (await a.presence.count(s1)) === 1, 'b no longer counts', ttlMs * 4);
          });
        }
      });
    }
  });
}
