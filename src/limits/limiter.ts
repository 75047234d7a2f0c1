/**
 * Limiter: counts events per key in fixed windows, for rate limits.
 *
 * A window of a key opens with its first event and lasts `windowMs`; `hit` counts one event and
 * says how many the window holds so far, and how long until it closes. The caller compares the
 * count with its own maximum, so one limiter serves every rule. The memory backend
 * (limiter-memory.ts) counts per process; the Redis backend (limiter-redis.ts) counts for every
 * instance at once, so a budget cannot be multiplied by spreading requests over instances.
 */
export interface Limiter {
  /** Counts one event of `key` in its current window. Never rejects. */
  hit(key: string, windowMs: number): Promise<WindowCount>;
  close(): Promise<void>;
}

export interface WindowCount {
  /** Events of this key in the current window, this one included. */
  count: number;
  /** Milliseconds until the window closes and the count starts again from zero. */
  resetMs: number;
}
