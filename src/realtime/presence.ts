/**
 * Presence: how many viewer connections each live session has, across every instance.
 *
 * Each instance reports its own connections; `count` answers for the whole cluster. The memory
 * backend (presence-memory.ts) serves a single process, the Redis backend (presence-redis.ts)
 * many, with per-instance heartbeats so a crashed instance's viewers stop counting.
 */
export interface Presence {
  /** One more viewer connection of `sessionId` on this instance. */
  add(sessionId: string): void;
  /** One viewer connection of `sessionId` on this instance went away. */
  remove(sessionId: string): void;
  /** Viewer connections of one session across all instances. */
  count(sessionId: string): Promise<number>;
  /** Viewer connections of many sessions at once (missing ids count 0). */
  counts(sessionIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * The most viewer connections the session had at once, across all instances, as each `add`
   * left it (a session's `peak_viewers`).
   */
  peak(sessionId: string): Promise<number>;
  /** Lets the session's peak go (it ended and its stats are written). */
  forgetPeak(sessionId: string): void;
  /** Stops heartbeats and withdraws this instance's counts. */
  close(): Promise<void>;
}
