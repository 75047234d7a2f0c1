import type { Kysely } from 'kysely';
import type { Database, UserId } from '../db/schema.js';

interface Waiter {
  resolve(exists: boolean): void;
  reject(error: unknown): void;
}

/**
 * Answers "does this user still exist?" for every authenticated request and socket: a token can
 * outlive its user. Lookups that arrive in one event-loop turn, or while a query runs, are
 * answered together by one query, so a join storm of thousands of sockets costs a few queries,
 * not one per socket. Nothing
 * is cached: a deleted user is refused from the next query on.
 */
export class ExistingUsers {
  /** Per user id (as text): who asked since the running query started. */
  #waiting = new Map<string, { id: UserId; waiters: Waiter[] }>();
  #running = false;

  constructor(private readonly db: Kysely<Database>) {}

  exists(id: UserId): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const key = String(id);
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
      try {
        const ids = [...batch.values()].map((entry) => entry.id);
        const rows = await this.db.selectFrom('users').select('id').where('id', 'in', ids).execute();
        const found = new Set(rows.map((row) => String(row.id)));
        for (const [key, { waiters }] of batch) for (const w of waiters) w.resolve(found.has(key));
      } catch (error) {
        for (const { waiters } of batch.values()) for (const w of waiters) w.reject(error);
      }
    }
    this.#running = false;
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
