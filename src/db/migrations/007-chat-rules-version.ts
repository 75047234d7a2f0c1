import { sql, type Kysely } from 'kysely';
import { userIdSqlType } from '../introspect.js';

/**
 * Issue 19: a version per vendor's chat rules (bans, moderators, blocked terms), bumped in the
 * transaction of every change, so an instance may keep the rules it read and know, from the one
 * statement that locks a session for a batch of comments, whether they are still current.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const userId = sql.raw(await userIdSqlType(db));
  await sql`
    create table if not exists chat_rules_versions (
      vendor_id ${userId} primary key references users (id) on delete cascade,
      version bigint not null default 0
    )`.execute(db);
}
