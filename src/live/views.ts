import { sql, type Kysely } from 'kysely';
import type { Database, UserId } from '../db/schema.js';

/** Viewers gathered for one session while its previous insert runs; one statement records them all. */
interface Batch {
  users: Set<UserId>;
  total: Promise<number>;
}

/** Unique viewers per session, persisted so `views_total` survives restarts. */
export class Views {
  /** Per session: the batch still taking viewers. */
  readonly #gathering = new Map<string, Batch>();
  /** Per session: the insert running now; the next batch starts when it is done. */
  readonly #running = new Map<string, Promise<number>>();

  constructor(
    private readonly db: Kysely<Database>,
    /** Viewers were recorded for the session (its views_total may have grown), before they hear it. */
    private readonly onRecorded: (sessionId: string) => void = () => {},
  ) {}

  /**
   * Adds `userId` to the session's unique viewers and resolves with the total that includes it.
   * Viewers joining while a session's previous insert is in flight are recorded together in the
   * next one, so a join storm costs a few statements rather than one per viewer.
   */
  recordAndTotal(sessionId: string, userId: UserId): Promise<number> {
    let batch = this.#gathering.get(sessionId);
    if (!batch) {
      const previous = this.#running.get(sessionId) ?? Promise.resolve(0);
      const created = { users: new Set<UserId>() } as Batch;
      // A failed previous batch already failed its own viewers; this one still runs.
      const total = previous.catch(() => 0).then(() => this.#insert(sessionId, created));
      created.total = total;
      this.#gathering.set(sessionId, created);
      this.#running.set(sessionId, total);
      const forget = () => {
        if (this.#running.get(sessionId) === total) this.#running.delete(sessionId);
      };
      total.then(forget, forget);
      batch = created;
    }
    batch.users.add(userId);
    return batch.total;
  }

  async #insert(sessionId: string, batch: Batch): Promise<number> {
    // From here on, new viewers gather in the next batch.
    if (this.#gathering.get(sessionId) === batch) this.#gathering.delete(sessionId);
    const users = [...batch.users];
    // One statement: the count runs on the snapshot from before the insert, so add what it added.
    // Users are taken from the users table, so one deleted since it signed in is skipped rather
    // than failing the whole batch with a foreign-key error.
    const row = await this.db
      .with('added', (db) =>
        db
          .insertInto('session_views')
          .columns(['session_id', 'user_id'])
          .expression((eb) =>
            eb
              .selectFrom('users')
              .select([sql<string>`${sessionId}::uuid`.as('session_id'), 'id'])
              .where('id', 'in', users),
          )
          .onConflict((oc) => oc.columns(['session_id', 'user_id']).doNothing())
          .returning('user_id'),
      )
      .selectNoFrom([
        sql<number>`(select count(*)::int from session_views where session_id = ${sessionId})
          + (select count(*)::int from added)`.as('n'),
      ])
      .executeTakeFirstOrThrow();
    this.onRecorded(sessionId);
    return row.n;
  }

  async total(sessionId: string): Promise<number> {
    const row = await this.db
      .selectFrom('session_views')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('session_id', '=', sessionId)
      .executeTakeFirstOrThrow();
    return row.n;
  }
}
