import { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';

/**
 * The two Redis connections an instance needs: `commands` (presence writes, publishing) and
 * `subscriber` (a connection in subscribe mode can do nothing else). Presence and the bus share
 * `commands`, so a presence write is applied before a later publish that announces it.
 */
export interface RedisConnections {
  commands: Redis;
  subscriber: Redis;
  /** A random id of this process; other instances' messages and counts are told apart by it. */
  instanceId: string;
  /** Key prefix, so several deployments (or test runs) can share one Redis. */
  prefix: string;
  close(): Promise<void>;
}

/**
 * Connects to Redis. Commands fail fast while Redis is unreachable (no offline queue): realtime
 * delivery within this instance goes on, and both connections reconnect by themselves.
 */
export function connectRedis(url: string, prefix: string, log: FastifyBaseLogger): RedisConnections {
  const options = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(200 * attempt, 2_000),
    lazyConnect: false,
  };
  const commands = new Redis(url, options);
  // The subscriber must queue its SUBSCRIBE commands until it is connected, and re-subscribe after
  // a reconnect (ioredis does that by itself with autoResubscribe).
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
  let warned = false;
  const onError = (error: Error) => {
    if (!warned)
      log.warn({ err: error.message }, 'redis unreachable; realtime continues on this instance only');
    warned = true;
  };
  commands.on('error', onError);
  subscriber.on('error', onError);
  commands.on('ready', () => {
    if (warned) log.info('redis reachable again');
    warned = false;
  });
  return {
    commands,
    subscriber,
    instanceId: crypto.randomUUID().replaceAll('-', '').slice(0, 16),
    prefix,
    async close() {
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
