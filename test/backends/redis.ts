/** Redis instances for the backend suites: this run's own key prefix, and everything removed after. */
import { once } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { connectRedis, type RedisConnections } from '../../src/redis.js';

const log = pino({ level: 'silent' }) as FastifyBaseLogger;

export const redisUrl = () => process.env.REDIS_URL as string;

/** A key prefix no other run or test shares. */
export const uniquePrefix = (what: string) => `sm-test-${what}-${crypto.randomUUID().slice(0, 8)}:`;

/** Resolves when the connection can take commands (the backends fall back while it cannot). */
export async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await once(redis, 'ready');
}

/** An instance's two connections, as the server opens them, once both are ready. */
export async function connect(prefix: string): Promise<RedisConnections> {
  const connections = connectRedis(redisUrl(), prefix, log);
  await Promise.all([ready(connections.commands), ready(connections.subscriber)]);
  return connections;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl());
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
