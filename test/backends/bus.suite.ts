/**
 * The contract of Bus (src/realtime/bus.ts), run against every backend: the memory bus in
 * test/unit/realtime/bus-memory.test.ts, the Redis bus in test/bus-redis.test.ts. Like
 * Centrifuge's broker tests, the suite takes a factory and knows nothing of the backend.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Bus, BusStatus } from '../../src/realtime/bus.js';
import { eventually } from '../support/ws.js';

/** One backend as the suite uses it: fresh for each test. */
export interface BusBackend {
  /** A new instance of the bus (as one server process would have). */
  open(): Promise<Bus>;
  /** Closes every instance opened and removes whatever the backend stored. */
  cleanup(): Promise<void>;
}

export interface BusFactory {
  create(): BusBackend;
  /** What status() says while the backend is up. */
  status: BusStatus;
  /** True when the instances of one backend reach each other (Redis); false when each is alone (memory). */
  shared: boolean;
}

const PROBE = '\u0000probe:';

/** A subscriber that keeps what it hears, apart from the probes `hears` sends. */
class Recorder {
  readonly messages: string[] = [];
  #probes = 0;
  readonly handler = (message: string) => {
    if (message.startsWith(PROBE)) this.#probes++;
    else this.messages.push(message);
  };

  /**
   * Resolves once a message `from` publishes on `channel` reaches this subscriber: a subscription
   * on another instance takes effect asynchronously. The probes are not kept in `messages`.
   */
  async hears(from: Bus, channel: string): Promise<void> {
    let n = 0;
    await eventually(() => {
      from.publish(channel, `${PROBE}${n++}`);
      return this.#probes > 0;
    }, `a subscriber of ${channel} hears the other instance`);
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);

export function busSuite(name: string, factory: BusFactory): void {
  describe(`Bus contract: ${name}`, () => {
    let backend: BusBackend;
    let channel: string;
    beforeEach(() => {
      backend = factory.create();
      channel = `test:${crypto.randomUUID()}`;
    });
    afterEach(async () => {
      await backend.cleanup();
    });

    test('a subscriber gets the messages of its channel in the order they were published', async () => {
      const bus = await backend.open();
      const r = new Recorder();
      bus.subscribe(channel, r.handler);
      for (const m of range(100)) bus.publish(channel, m);
      assert.deepEqual(r.messages, range(100));
    });

    test('subscribers on the publishing instance get a message before publish returns', async () => {
      const bus = await backend.open();
      const r = new Recorder();
      bus.subscribe(channel, r.handler);
      bus.publish(channel, 'now');
      assert.deepEqual(r.messages, ['now']);
    });

    test('every subscriber of a channel gets every message', async () => {
      const bus = await backend.open();
      const recorders = [new Recorder(), new Recorder(), new Recorder()];
      for (const r of recorders) bus.subscribe(channel, r.handler);
      bus.publish(channel, 'a');
      bus.publish(channel, 'b');
      for (const r of recorders) assert.deepEqual(r.messages, ['a', 'b']);
    });

    test('a subscriber hears only its own channel', async () => {
      const bus = await backend.open();
      const r = new Recorder();
      bus.subscribe(channel, r.handler);
      bus.publish(`${channel}:other`, 'elsewhere');
      bus.publish(channel, 'here');
      assert.deepEqual(r.messages, ['here']);
    });

    test('unsubscribing stops delivery to that handler only', async () => {
      const bus = await backend.open();
      const gone = new Recorder();
      const stays = new Recorder();
      const unsubscribe = bus.subscribe(channel, gone.handler);
      bus.subscribe(channel, stays.handler);
      bus.publish(channel, 'a');
      unsubscribe();
      bus.publish(channel, 'b');
      assert.deepEqual(gone.messages, ['a']);
      assert.deepEqual(stays.messages, ['a', 'b']);
    });

    test('a channel whose last handler left can be subscribed again', async () => {
      const bus = await backend.open();
      bus.subscribe(channel, () => undefined)();
      const r = new Recorder();
      bus.subscribe(channel, r.handler);
      bus.publish(channel, 'again');
      assert.deepEqual(r.messages, ['again']);
    });

    test('a closed bus delivers nothing more', async () => {
      const bus = await backend.open();
      const r = new Recorder();
      bus.subscribe(channel, r.handler);
      await bus.close();
      bus.publish(channel, 'after');
      assert.deepEqual(r.messages, []);
    });

    test('status() names the backend while it is up', async () => {
      const bus = await backend.open();
      assert.equal(bus.status(), factory.status);
    });

    if (factory.shared) {
      describe('across instances', () => {
        test('a message published on one instance reaches subscribers on another, in order', async () => {
          const [a, b] = [await backend.open(), await backend.open()];
          const r = new Recorder();
          b.subscribe(channel, r.handler);
          await r.hears(a, channel);
          for (const m of range(200)) a.publish(channel, m);
          await eventually(() => r.messages.length >= 200, 'b got all 200');
          assert.deepEqual(r.messages, range(200));
        });

        test("the publisher's own subscribers get each message once, not again from the backend", async () => {
          const [a, b] = [await backend.open(), await backend.open()];
          const here = new Recorder();
          const there = new Recorder();
          a.subscribe(channel, here.handler);
          b.subscribe(channel, there.handler);
          await here.hears(b, channel);
          await there.hears(a, channel);
          for (const m of range(10)) a.publish(channel, m);
          await eventually(() => there.messages.length >= 10, 'b got all 10');
          // b's reply comes after a's messages in the channel's order, so after any echo of them.
          b.publish(channel, 'reply');
          await eventually(() => here.messages.includes('reply'), 'a got the reply');
          assert.deepEqual(here.messages, [...range(10), 'reply']);
        });

        test('an instance that unsubscribed hears nothing more from others', async () => {
          const [a, b] = [await backend.open(), await backend.open()];
          const gone = new Recorder();
          const witness = new Recorder();
          const unsubscribe = b.subscribe(channel, gone.handler);
          a.subscribe(channel, witness.handler);
          await gone.hears(a, channel);
          const c = await backend.open();
          const late = new Recorder();
          c.subscribe(channel, late.handler);
          unsubscribe();
          // Once a third instance hears a message published after the unsubscription, b would have too.
          await late.hears(a, channel);
          a.publish(channel, 'after');
          await eventually(() => late.messages.includes('after'), 'c got it');
          assert.deepEqual(gone.messages, []);
        });

        test('an instance that subscribes again hears the others again', async () => {
          const [a, b] = [await backend.open(), await backend.open()];
          const first = new Recorder();
          b.subscribe(channel, first.handler)();
          const r = new Recorder();
          b.subscribe(channel, r.handler);
          await r.hears(a, channel);
          a.publish(channel, 'again');
          await eventually(() => r.messages.includes('again'), 'b got it');
          assert.deepEqual(r.messages, ['again']);
        });

        test('channels are kept apart across instances', async () => {
          const [a, b] = [await backend.open(), await backend.open()];
          const r = new Recorder();
          b.subscribe(channel, r.handler);
          await r.hears(a, channel);
          a.publish(`${channel}:other`, 'elsewhere');
          a.publish(channel, 'here');
          await eventually(() => r.messages.includes('here'), 'b got it');
          assert.deepEqual(r.messages, ['here']);
        });
      });
    }
  });
}
