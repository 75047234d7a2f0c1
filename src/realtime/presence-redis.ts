import type { Presence } from './presence.js';
import type { RedisConnections } from '../redis.js';

export interface RedisPresenceOptions {
  /** How often this instance says it is alive and re-asserts its counts. */
  heartbeatMs: number;
  /** An instance silent for this long no longer counts. */
  ttlMs: number;
}

/**
 * Presence across instances. Redis holds, per session, a hash of instance id → that instance's
 * viewer connections, and per instance a key that lives `ttlMs` and is refreshed every
 * `heartbeatMs`. A count sums the hash fields of live instances; a crashed instance's key expires
 * and its viewers stop counting within `ttlMs + heartbeatMs`.
 *
 * This instance's own part always comes from memory, so it is exact at once and survives a Redis
 * outage; the heartbeat writes it back after Redis returns empty.
 */
export class RedisPresence implements Presence {
  readonly #local = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisConnections,
    private readonly options: RedisPresenceOptions,
  ) {
    this.#timer = setInterval(() => void this.#heartbeat(), options.heartbeatMs);
    this.#timer.unref();
    // Register at once whenever the connection becomes usable (start-up, and after Redis came
    // back), not only at the next tick: until then other instances do not count our viewers.
    redis.commands.on('ready', this.#onReady);
    if (redis.commands.status === 'ready') void this.#heartbeat();
  }

  readonly #onReady = () => void this.#heartbeat();

  add(sessionId: string): void {
    this.#local.set(sessionId, (this.#local.get(sessionId) ?? 0) + 1);
    this.#write(sessionId, 1);
  }

  remove(sessionId: string): void {
    const n = (this.#local.get(sessionId) ?? 0) - 1;
    if (n > 0) this.#local.set(sessionId, n);
    else this.#local.delete(sessionId);
    this.#write(sessionId, -1);
  }

  async count(sessionId: string): Promise<number> {
    return (await this.counts([sessionId])).get(sessionId) ?? 0;
  }

  async counts(sessionIds: readonly string[]): Promise<Map<string, number>> {
    const result = new Map(sessionIds.map((id) => [id, this.#local.get(id) ?? 0]));
    const { commands } = this.redis;
    if (sessionIds.length === 0 || commands.status !== 'ready') return result;
    try {
      const pipeline = commands.pipeline();
      for (const id of sessionIds) pipeline.hgetall(this.#sessionKey(id));
      const replies = (await pipeline.exec()) ?? [];
      const others = new Set<string>();
      const perSession = replies.map(([, value]) => {
        const fields = Object.entries((value ?? {}) as Record<string, string>).filter(
          ([instance]) => instance !== this.redis.instanceId,
        );
        for (const [instance] of fields) others.add(instance);
        return fields;
      });
      if (others.size === 0) return result;
      const ids = [...others];
      const alive = await commands.mget(ids.map((id) => this.#instanceKey(id)));
      const live = new Set(ids.filter((_, i) => alive[i] !== null));
      perSession.forEach((fields, i) => {
        const sessionId = sessionIds[i] as string;
        let sum = result.get(sessionId) ?? 0;
        for (const [instance, n] of fields) {
          if (live.has(instance)) sum += Math.max(0, Number(n) || 0);
          else void commands.hdel(this.#sessionKey(sessionId), instance).catch(() => undefined);
        }
        result.set(sessionId, sum);
      });
    } catch {
      // Redis failed mid-read: this instance's own viewers are still the best answer there is.
    }
    return result;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.redis.commands.off('ready', this.#onReady);
    const { commands } = this.redis;
    if (commands.status === 'ready') {
      const pipeline = commands.pipeline();
      for (const id of this.#local.keys()) pipeline.hdel(this.#sessionKey(id), this.redis.instanceId);
      pipeline.del(this.#instanceKey(this.redis.instanceId));
      await pipeline.exec().catch(() => undefined);
    }
    this.#local.clear();
  }

  #write(sessionId: string, delta: number): void {
    const { commands } = this.redis;
    if (commands.status !== 'ready') return;
    const key = this.#sessionKey(sessionId);
    const field = this.redis.instanceId;
    const write = this.#local.has(sessionId)
      ? commands.hincrby(key, field, delta).then(() => commands.pexpire(key, this.options.ttlMs * 4))
      : commands.hdel(key, field);
    write.catch(() => undefined);
  }

  /** Says this instance is alive and writes its exact counts (healing drift and Redis restarts). */
  async #heartbeat(): Promise<void> {
    const { commands } = this.redis;
    if (commands.status !== 'ready') return;
    const pipeline = commands.pipeline();
    pipeline.set(this.#instanceKey(this.redis.instanceId), '1', 'PX', this.options.ttlMs);
    for (const [id, n] of this.#local) {
      pipeline.hset(this.#sessionKey(id), this.redis.instanceId, String(n));
      pipeline.pexpire(this.#sessionKey(id), this.options.ttlMs * 4);
    }
    await pipeline.exec().catch(() => undefined);
  }

  #sessionKey(sessionId: string): string {
    return `${this.redis.prefix}presence:${sessionId}`;
  }

  #instanceKey(instanceId: string): string {
    return `${this.redis.prefix}instance:${instanceId}`;
  }
}
