import { sql, type Kysely } from 'kysely';

/**
 * Issue 23: live thumbnails. The newest picture of each session (one row, replaced every few
 * seconds while it is live, kept after it ends as its replay's poster); `live_sessions.
 * thumbnail_at` says when it was taken, so session objects name it without a join.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table live_sessions add column if not exists thumbnail_at timestamptz`.execute(db);
  await sql`
    create table if not exists session_thumbnails (
      session_id uuid primary key references live_sessions (id) on delete cascade,
      jpeg bytea not null,
      taken_at timestamptz not null
    )`.execute(db);
}
