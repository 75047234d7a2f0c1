import type { Redis } from 'ioredis';
import type { Limiter, WindowCount } from './limiter.js';
import { MemoryLimiter } from './limiter-memory.js';

/**
 * One atomic step: count the event, start the window's clock on its first event, and report the
 * time left. A key without expiry (never expected) is given one rather than counting forever.
 */
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

/**
 * Fixed-window counters shared by every instance, in Redis. Uses the instance's existing
 * `commands` connection (no connection of its own).
 *
 * While Redis is unreachable the counts fall back to this process's memory: limits still hold
 * per instance (a budget at most multiplied by the number of instances) instead of failing open
 * or failing every request.
 */
export class RedisLimiter implements Limiter {
  readonly #fallback = new MemoryLimiter();

  constructor(
    private readonly redis: Redis,
    /** Key prefix, e.g. `sm:rl:`. */
    private readonly prefix: string,
  ) {}

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    if (this.redis.status !== 'ready') return this.#fallback.hitNow(key, windowMs);
    try {
      const [count, ttl] = (await this.redis.eval(HIT, 1, this.prefix + key, windowMs)) as [number, number];
      return { count, resetMs: ttl };
    } catch {
      return this.#fallback.hitNow(key, windowMs);
    }
  }

  async close(): Promise<void> {
    await this.#fallback.close();
  }
}
