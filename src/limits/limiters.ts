import type { Clock } from '../clock.js';
import type { RedisConnections } from '../redis.js';
import type { Limiter } from './limiter.js';
import { MemoryLimiter } from './limiter-memory.js';
import { RedisLimiter } from './limiter-redis.js';

/**
 * Shared counters on the instance's Redis connection when there is one (Redis's clock ends their
 * windows); else this process's, on the app's clock.
 */
export function createLimiter(redis: RedisConnections | undefined, clock: Clock): Limiter {
  return redis ? new RedisLimiter(redis.commands, `${redis.prefix}rl:`) : new MemoryLimiter(clock);
}
