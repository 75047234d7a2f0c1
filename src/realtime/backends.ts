import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { Bus } from './bus.js';
import { MemoryBus } from './bus-memory.js';
import { RedisBus } from './bus-redis.js';
import { MemoryPresence } from './presence-memory.js';
import { RedisPresence } from './presence-redis.js';
import type { Presence } from './presence.js';
import { connectRedis, type RedisConnections } from '../redis.js';

/** The bus and presence backends an instance runs on, chosen by REDIS_URL. */
export interface RealtimeBackends {
  bus: Bus;
  presence: Presence;
  /**
   * The Redis connections behind them, when REDIS_URL is set: the rate limiter counts on
   * `commands` too rather than opening a third connection. Closed by `close`.
   */
  redis?: RedisConnections;
  close(): Promise<void>;
}

/**
 * In-process backends without REDIS_URL; Redis backends with it. `prefix` keeps the keys and
 * channels of separate deployments (or test runs) sharing one Redis apart.
 */
export function createBackends(config: Config, log: FastifyBaseLogger, prefix = 'sm:'): RealtimeBackends {
  if (!config.redisUrl) {
    const bus = new MemoryBus();
    const presence = new MemoryPresence();
    return {
      bus,
      presence,
      async close() {
        await presence.close();
        await bus.close();
      },
    };
  }
  const redis = connectRedis(config.redisUrl, prefix, log);
  const bus = new RedisBus(redis);
  const presence = new RedisPresence(redis, {
    heartbeatMs: config.realtime.presenceHeartbeatMs,
    ttlMs: config.realtime.presenceTtlMs,
  });
  return {
    bus,
    presence,
    redis,
    async close() {
      await presence.close();
      await bus.close();
      await redis.close();
    },
  };
}
