import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '../clock.js';
import type { Database, UserId } from '../db/schema.js';

/**
 * How long a user seen to exist is believed to, without asking the database again. Users are
 * deleted outside this service (by an operator, or the original service on a shared database),
 * so no message announces it: this bound is how soon a deleted user's token stops working on
 * every instance, whatever the bus is doing.
 */
export const USER_CHECK_MS = 1000;

/** The ids among `ids` that name a user. */
export type FindUsers = (ids: UserId[]) => Promise<UserId[]>;

interface Waiter {
  resolve(exists: boolean): void;
  reject(error: unknown): void;
}

/**
 * Answers "does this user still exist?" for every authenticated request and socket: a token can
 * outlive its user. A user found is believed for USER_CHECK_MS, so a chatty user costs one query
 * a second, not one per comment. Lookups that arrive in one event-loop turn, or while a query
 * runs, are answered together by one query, so a join storm of thousands of sockets costs a few
 * queries, not one per socket. A user not found is never remembered: it is asked about again.
 */
export class ExistingUsers {
  /** Per user id (as text): who asked since the running query started. */
  #waiting = new Map<string, { id: UserId; waiters: Waiter[] }>();
  #running = false;
  /** Per user id (as text): when a query that found it started. */
  #seen = new Map<string, number>();
  /** The size of #seen after its last sweep: the next sweep waits until it has doubled. */
  #sweptAt = 0;

  constructor(
    private readonly find: FindUsers,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Lookups in the `users` table of `db`. */
  static inDatabase(db: Kysely<Database>, clock?: Clock): ExistingUsers {
    const find: FindUsers = async (ids) =>
      (await db.selectFrom('users').select('id').where('id', 'in', ids).execute()).map((row) => row.id);
    return new ExistingUsers(find, clock);
  }

  exists(id: UserId): Promise<boolean> {
    const key = String(id);
    const seen = this.#seen.get(key);
    if (seen !== undefined && this.clock.now() - seen < USER_CHECK_MS) return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      let entry = this.#waiting.get(key);
      if (!entry) {
        entry = { id, waiters: [] };
        this.#waiting.set(key, entry);
      }
      entry.waiters.push({ resolve, reject });
      if (!this.#running) {
        // Gathered until the event loop's next check phase: token checks of a join storm finish
        // in bursts (WebCrypto callbacks), and a burst then shares one query.
        this.#running = true;
        setImmediate(() => void this.#run());
      }
    });
  }

  async #run(): Promise<void> {
    while (this.#waiting.size > 0) {
      const batch = this.#takeBatch();
      // The query's start, not its end: a user deleted while it ran may still have been found.
      const startedAt = this.clock.now();
      try {
        const found = new Set((await this.find([...batch.values()].map((entry) => entry.id))).map(String));
        for (const [key, { waiters }] of batch) {
          if (found.has(key)) this.#seen.set(key, startedAt);
          else this.#seen.delete(key);
          for (const w of waiters) w.resolve(found.has(key));
        }
      } catch (error) {
        for (const { waiters } of batch.values()) for (const w of waiters) w.reject(error);
      }
      this.#sweep();
    }
    this.#running = false;
  }

  /** Forgets users not seen within the bound, once the map has doubled since the last sweep. */
  #sweep(): void {
    if (this.#seen.size < Math.max(MIN_SWEEP, 2 * this.#sweptAt)) return;
    const now = this.clock.now();
    for (const [key, seen] of this.#seen) if (now - seen >= USER_CHECK_MS) this.#seen.delete(key);
    this.#sweptAt = this.#seen.size;
  }

  /** Up to MAX_BATCH waiting users, removed from the queue (parameters per statement are bounded). */
  #takeBatch(): Map<string, { id: UserId; waiters: Waiter[] }> {
    if (this.#waiting.size <= MAX_BATCH) {
      const all = this.#waiting;
      this.#waiting = new Map();
      return all;
    }
    const batch = new Map<string, { id: UserId; waiters: Waiter[] }>();
    for (const [key, entry] of this.#waiting) {
      batch.set(key, entry);
      this.#waiting.delete(key);
      if (batch.size === MAX_BATCH) break;
    }
    return batch;
  }
}

const MAX_BATCH = 1000;
/** Below this many remembered users a sweep is not worth its loop. */
const MIN_SWEEP = 1000;
