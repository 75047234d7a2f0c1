import type { Presence } from './presence.js';
import type { RedisConnections } from '../redis.js';

/**
 * One connection more for this instance, then the session's peak raised to the sum of the live
 * instances' connections if that is higher, atomically: two joins on two instances cannot both
 * read the sum before either wrote. KEYS: the session's hash, its peak. ARGV: this instance's
 * id, the hash's expiry (ms), the peak's expiry (ms), the instance-key prefix.
 */
const ADD_AND_PEAK = `
local mine = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local fields = redis.call('HGETALL', KEYS[1])
local sum = 0
for i = 1, #fields, 2 do
  local n = tonumber(fields[i + 1]) or 0
  if n > 0 and (fields[i] == ARGV[1] or redis.call('EXISTS', ARGV[4] .. fields[i]) == 1) then
    sum = sum + n
  end
end
local peak = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if sum > peak then peak = sum end
redis.call('SET', KEYS[2], peak, 'PX', ARGV[3])
return peak
`;

/** A session's peak outlives quiet hours: kept a week after its last join. */
const PEAK_TTL_MS = 7 * 24 * 3600 * 1000;

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
  /** This instance's own peak per session: the answer while Redis is unreachable. */
  readonly #localPeaks = new Map<string, number>();
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
    const n = (this.#local.get(sessionId) ?? 0) + 1;
    this.#local.set(sessionId, n);
    if (n > (this.#localPeaks.get(sessionId) ?? 0)) this.#localPeaks.set(sessionId, n);
    const { commands } = this.redis;
    if (commands.status !== 'ready') return;
    commands
      .eval(
        ADD_AND_PEAK,
        2,
        this.#sessionKey(sessionId),
        this.#peakKey(sessionId),
        this.redis.instanceId,
        this.options.ttlMs * 4,
        PEAK_TTL_MS,
        `${this.redis.prefix}instance:`,
      )
      .catch(() => undefined);
  }

  async peak(sessionId: string): Promise<number> {
    const local = this.#localPeaks.get(sessionId) ?? 0;
    const { commands } = this.redis;
    if (commands.status !== 'ready') return local;
    try {
      return Math.max(local, Number(await commands.get(this.#peakKey(sessionId))) || 0);
    } catch {
      return local;
    }
  }

  forgetPeak(sessionId: string): void {
    this.#localPeaks.delete(sessionId);
    const { commands } = this.redis;
    if (commands.status === 'ready') commands.del(this.#peakKey(sessionId)).catch(() => undefined);
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
    this.#localPeaks.clear();
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

  #peakKey(sessionId: string): string {
    return `${this.redis.prefix}presence-peak:${sessionId}`;
  }

  #instanceKey(instanceId: string): string {
    return `${this.redis.prefix}instance:${instanceId}`;
  }
}
