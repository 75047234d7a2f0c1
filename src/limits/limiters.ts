import type { RedisConnections } from '../redis.js';
import type { Limiter } from './limiter.js';
import { MemoryLimiter } from './limiter-memory.js';
import { RedisLimiter } from './limiter-redis.js';

/** Shared counters on the instance's Redis connection when there is one; else this process's. */
export function createLimiter(redis: RedisConnections | undefined): Limiter {
  return redis ? new RedisLimiter(redis.commands, `${redis.prefix}rl:`) : new MemoryLimiter();
}
