/** The Limiter contract on Redis, instances as separate connections sharing one Redis, in real time. */
import { describe } from 'node:test';
import { Redis } from 'ioredis';
import { RedisLimiter } from '../src/limits/limiter-redis.js';
import { deleteKeys, ready, redisUrl, uniquePrefix } from './backends/redis.js';
import { limiterSuite } from './backends/limiter.suite.js';
import { needsRedis } from './support/services.js';
import { sleep } from './support/ws.js';

describe('Redis limiter', { skip: needsRedis() }, () => {
  limiterSuite('redis', {
    shared: true,
    windowMs: 300,
    create() {
      const prefix = uniquePrefix('rl');
      const instances: { limiter: RedisLimiter; redis: Redis }[] = [];
      return {
        async open() {
          // As the server's commands connection: no offline queue, so the limiter must see it ready.
          const redis = new Redis(redisUrl(), { enableOfflineQueue: false });
          await ready(redis);
          const limiter = new RedisLimiter(redis, prefix);
          instances.push({ limiter, redis });
          return limiter;
        },
        async wait(ms) {
          // A few ms more: Redis expires a key at its deadline, not before.
          await sleep(ms + 5);
        },
        async cleanup() {
          for (const { limiter, redis } of instances) {
            await limiter.close();
            redis.disconnect();
          }
          await deleteKeys(prefix);
        },
      };
    },
  });
});
