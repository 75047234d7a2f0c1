/** The Bus contract on Redis pub/sub, instances as separate connection pairs sharing one Redis. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RedisConnections } from '../src/redis.js';
import { RedisBus } from '../src/realtime/bus-redis.js';
import { busSuite } from './backends/bus.suite.js';
import { connect, uniquePrefix } from './backends/redis.js';
import { needsRedis } from './support/services.js';
import { eventually } from './support/ws.js';

describe('Redis bus', { skip: needsRedis() }, () => {
  busSuite('redis', {
    status: 'redis',
    shared: true,
    create() {
      // Channels, not keys: nothing stays in Redis once the connections close.
      const prefix = uniquePrefix('bus');
      const instances: { bus: RedisBus; connections: RedisConnections }[] = [];
      return {
        async open() {
          const connections = await connect(prefix);
          const bus = new RedisBus(connections);
          instances.push({ bus, connections });
          return bus;
        },
        async cleanup() {
          for (const { bus, connections } of instances) {
            await bus.close();
            await connections.close();
          }
        },
      };
    },
  });

  test("an instance's last handler of a channel leaving unsubscribes it in Redis", async () => {
    const connections = await connect(uniquePrefix('bus'));
    const bus = new RedisBus(connections);
    const channel = `${connections.prefix}live:x`;
    const subscribers = async () => {
      const [, n] = (await connections.commands.pubsub('NUMSUB', channel)) as [string, number];
      return Number(n);
    };
    try {
      const first = bus.subscribe('live:x', () => undefined);
      const second = bus.subscribe('live:x', () => undefined);
      await eventually(async () => (await subscribers()) === 1, 'subscribed once for both handlers');
      first();
      assert.equal(await subscribers(), 1, 'one handler is left');
      second();
      await eventually(async () => (await subscribers()) === 0, 'unsubscribed in Redis');
    } finally {
      await bus.close();
      await connections.close();
    }
  });
});
