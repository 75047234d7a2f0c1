import { sql, type Kysely } from 'kysely';

/**
 * Issue 24: reactions, kept as totals per session and kind (never a row per tap), added to by
 * each instance's window of taps; and the session's totals as it ended, in its stats.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table if not exists session_reactions (
      session_id uuid not null references live_sessions (id) on delete cascade,
      kind text not null,
      total bigint not null default 0,
      primary key (session_id, kind)
    )`.execute(db);
  await sql`alter table session_stats add column if not exists reactions jsonb`.execute(db);
}
