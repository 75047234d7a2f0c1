/**
 * The Presence contract on Redis, instances as separate connection pairs sharing one Redis, with
 * short heartbeats so a crashed instance expires within a second.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RedisConnections } from '../src/redis.js';
import { RedisPresence } from '../src/realtime/presence-redis.js';
import { presenceSuite } from './backends/presence.suite.js';
import { connect, deleteKeys, uniquePrefix } from './backends/redis.js';
import { needsRedis } from './support/services.js';
import { eventually } from './support/ws.js';

const OPTIONS = { heartbeatMs: 100, ttlMs: 400 };

describe('Redis presence', { skip: needsRedis() }, () => {
  presenceSuite('redis', {
    shared: true,
    ttlMs: OPTIONS.ttlMs,
    create() {
      const prefix = uniquePrefix('presence');
      const instances: { presence: RedisPresence; connections: RedisConnections }[] = [];
      return {
        async open() {
          const connections = await connect(prefix);
          const presence = new RedisPresence(connections, OPTIONS);
          instances.push({ presence, connections });
          return { presence, crash: () => connections.close() };
        },
        async cleanup() {
          for (const { presence, connections } of instances) {
            await presence.close();
            await connections.close();
          }
          await deleteKeys(prefix);
        },
      };
    },
  });

  test('adding and removing reach the other instances at once, not at the next heartbeat', async () => {
    const prefix = uniquePrefix('presence');
    const slow = { heartbeatMs: 60_000, ttlMs: 120_000 };
    const [a, b] = [await connect(prefix), await connect(prefix)];
    const [here, there] = [new RedisPresence(a, slow), new RedisPresence(b, slow)];
    const session = crypto.randomUUID();
    try {
      there.add(session);
      there.add(session);
      await eventually(async () => (await here.count(session)) === 2, 'the adds are counted', 1_000);
      there.remove(session);
      await eventually(async () => (await here.count(session)) === 1, 'the removal is counted', 1_000);
    } finally {
      await Promise.all([here.close(), there.close()]);
      await Promise.all([a.close(), b.close()]);
      await deleteKeys(prefix);
    }
  });

  test("the heartbeat writes an instance's counts back after Redis lost them", async () => {
    const prefix = uniquePrefix('presence');
    const [a, b] = [await connect(prefix), await connect(prefix)];
    const [here, there] = [new RedisPresence(a, OPTIONS), new RedisPresence(b, OPTIONS)];
    const session = crypto.randomUUID();
    try {
      there.add(session);
      await eventually(async () => (await here.count(session)) === 1, 'counted');
      await deleteKeys(prefix); // as a Redis restart without persistence would
      assert.equal(await here.count(session), 0);
      await eventually(
        async () => (await here.count(session)) === 1,
        'counted again',
        OPTIONS.heartbeatMs * 10,
      );
    } finally {
      await Promise.all([here.close(), there.close()]);
      await Promise.all([a.close(), b.close()]);
      await deleteKeys(prefix);
    }
  });

  test("an instance's own connections count while Redis is unreachable", async () => {
    const connections = await connect(uniquePrefix('presence'));
    const presence = new RedisPresence(connections, OPTIONS);
    const session = crypto.randomUUID();
    try {
      presence.add(session);
      await connections.close();
      assert.equal(await presence.count(session), 1);
    } finally {
      await presence.close();
      await deleteKeys(connections.prefix);
    }
  });
});
