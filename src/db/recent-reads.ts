/** Keys kept at once by default; past this the oldest are dropped. */
const MAX_KEYS = 10_000;

/**
 * Reads of the database that many requests ask for at once (one session's page, the lobby, a
 * user's profile), each kept for at most `maxAgeMs` from when its read started and shared by
 * every request meanwhile. Concurrent misses of one key share one read. `forget(key)` is how a
 * change made on this instance (or heard over the bus) shows on the very next request: a read
 * that was under way when its key was forgotten still answers its own callers, but is not kept.
 */
export class RecentReads<V> {
  readonly #kept = new Map<string, { value: V; at: number }>();
  readonly #loading = new Map<string, Promise<V>>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number,
    private readonly maxKeys = MAX_KEYS,
  ) {}

  /** `load`'s value for `key`, from memory while it is fresh; `keep` says whether a value may be kept. */
  get(key: string, load: () => Promise<V>, keep: (value: V) => boolean = () => true): Promise<V> {
    const kept = this.#kept.get(key);
    // A clock that went back (the app's clock is the wall clock) makes a value stale, not fresh.
    const age = kept ? this.now() - kept.at : -1;
    if (kept && age >= 0 && age < this.maxAgeMs) return Promise.resolve(kept.value);
    const loading = this.#loading.get(key);
    if (loading) return loading;
    const started = this.now();
    const read: Promise<V> = load().then((value) => {
      if (this.#loading.get(key) === read && keep(value)) this.#keep(key, value, started);
      return value;
    });
    this.#loading.set(key, read);
    const settle = () => {
      if (this.#loading.get(key) === read) this.#loading.delete(key);
    };
    read.then(settle, settle);
    return read;
  }

  /** `key` changed: the next request for it reads afresh. */
  forget(key: string): void {
    this.#kept.delete(key);
    this.#loading.delete(key);
  }

  /** Everything changed. */
  forgetAll(): void {
    this.#kept.clear();
    this.#loading.clear();
  }

  #keep(key: string, value: V, at: number): void {
    this.#kept.delete(key);
    if (this.#kept.size >= this.maxKeys) this.#kept.delete(this.#kept.keys().next().value as string);
    this.#kept.set(key, { value, at });
  }
}
