import { sql, type Kysely } from 'kysely';
import type { Database, UserId } from '../db/schema.js';

/** Unique viewers per session, persisted so `views_total` survives restarts. */
export class Views {
  constructor(private readonly db: Kysely<Database>) {}

  /** Adds `userId` to the session's unique viewers (once, however often it is called). */
  async record(sessionId: string, userId: UserId): Promise<void> {
    await this.db
      .insertInto('session_views')
      .values({ session_id: sessionId, user_id: userId })
      .onConflict((oc) => oc.columns(['session_id', 'user_id']).doNothing())
      .execute();
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
