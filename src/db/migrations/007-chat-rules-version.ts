import { sql, type Kysely } from 'kysely';
import { userIdSqlType } from '../introspect.js';

/**
 * Issue 19: a version per vendor's chat rules (bans, moderators, blocked terms), bumped in the
 * transaction of every change, so an instance may keep the rules it read and know, from the one
 * statement that locks a session for a batch of comments, whether they are still current.
 *
 * And the pins of a session's chat log, indexed: deleting a comment rewrites any pin of it
 * (live/chat-log.ts `redact`) without reading every event of the session.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const userId = sql.raw(await userIdSqlType(db));
  await sql`
    create table if not exists chat_rules_versions (
      vendor_id ${userId} primary key references users (id) on delete cascade,
      version bigint not null default 0
    )`.execute(db);
  await sql`create index if not exists chat_events_pins_idx on chat_events (session_id) where type = 'comment_pinned'`.execute(
    db,
  );
}
