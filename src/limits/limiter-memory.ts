import { systemClock, type Clock } from '../clock.js';
import type { Limiter, WindowCount } from './limiter.js';

/** How often windows that closed are forgotten. */
const SWEEP_MS = 60_000;

/** Fixed-window counters of one process. */
export class MemoryLimiter implements Limiter {
  readonly #windows = new Map<string, { count: number; endsAt: number }>();
  readonly #sweep: NodeJS.Timeout;

  constructor(private readonly clock: Clock = systemClock) {
    // Keys are IPs, emails and user ids: forgetting closed windows keeps memory bounded by the
    // number of keys active within one window.
    this.#sweep = setInterval(() => {
      const now = this.clock.now();
      for (const [key, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(key);
    }, SWEEP_MS);
    this.#sweep.unref();
  }

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    return this.hitNow(key, windowMs);
  }

  /** `hit` without the promise, for the Redis limiter's fallback path. */
  hitNow(key: string, windowMs: number): WindowCount {
    const now = this.clock.now();
    let window = this.#windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + windowMs };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, resetMs: window.endsAt - now };
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    this.#windows.clear();
  }
}
