import { Subscriptions, type Bus, type BusHandler, type BusStatus } from './bus.js';
import type { RedisConnections } from '../redis.js';

/**
 * The bus across instances over Redis pub/sub. Local subscribers get each message at once; the
 * copy that comes back from Redis carries this instance's id and is skipped. While Redis is down,
 * publishing delivers locally only and other instances miss the message.
 *
 * Wire format on a Redis channel: `<16-char instance id><message>`.
 */
export class RedisBus implements Bus {
  readonly #subscriptions = new Subscriptions();
  readonly #idLength: number;

  constructor(private readonly redis: RedisConnections) {
    this.#idLength = redis.instanceId.length;
    redis.subscriber.on('message', (redisChannel: string, raw: string) => {
      if (raw.startsWith(redis.instanceId)) return;
      this.#subscriptions.deliver(redisChannel.slice(redis.prefix.length), raw.slice(this.#idLength));
    });
  }

  publish(channel: string, message: string): void {
    this.#subscriptions.deliver(channel, message);
    if (this.redis.commands.status !== 'ready') return;
    this.redis.commands.publish(this.redis.prefix + channel, this.redis.instanceId + message).catch(() => {
      // Redis went away mid-publish: other instances miss this one message; local peers had it.
    });
  }

  subscribe(channel: string, handler: BusHandler): () => void {
    if (this.#subscriptions.add(channel, handler)) {
      this.redis.subscriber.subscribe(this.redis.prefix + channel).catch(() => undefined);
    }
    return () => {
      if (this.#subscriptions.remove(channel, handler)) {
        this.redis.subscriber.unsubscribe(this.redis.prefix + channel).catch(() => undefined);
      }
    };
  }

  status(): BusStatus {
    return this.redis.commands.status === 'ready' && this.redis.subscriber.status === 'ready'
      ? 'redis'
      : 'down';
  }

  async close(): Promise<void> {
    this.#subscriptions.clear();
  }
}
