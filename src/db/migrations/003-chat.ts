import { sql, type Kysely } from 'kysely';
import { userIdSqlType } from '../introspect.js';

/**
 * Chat the vendor controls, and recovery by offset:
 * - every comment and chat event of a session gets the next per-session offset
 *   (`live_sessions.last_offset`, taken under the session row's lock, so offsets follow commit
 *   order), and its frame, exactly as sent, is kept in `chat_events` for replay;
 * - comments are soft-deleted (who and when kept); a session has a slow mode and a pinned comment;
 * - a vendor's moderators, bans (for all of the vendor's sessions) and blocked terms;
 * - `moderation_log`: who did what, when.
 * Comments that existed before get offsets in their order, and their frames, so a client can
 * recover across the upgrade.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const userId = sql.raw(await userIdSqlType(db));

  await sql`alter table live_sessions
    add column if not exists last_offset bigint not null default 0,
    add column if not exists slow_mode_seconds integer not null default 0,
    add column if not exists pinned_comment_id uuid`.execute(db);

  await sql`alter table comments
    add column if not exists event_offset bigint,
    add column if not exists deleted_at timestamptz,
    add column if not exists deleted_by ${userId}`.execute(db);

  await sql`
    create table if not exists chat_events (
      session_id uuid not null references live_sessions (id) on delete cascade,
      event_offset bigint not null,
      type text not null,
      frame text not null,
      created_at timestamptz not null default now(),
      primary key (session_id, event_offset)
    )`.execute(db);

  // Existing comments: offsets in their order, and their frames as /ws/live sent them.
  await sql`
    update comments c set event_offset = numbered.n
    from (select id, row_number() over (partition by session_id order by seq) as n from comments) numbered
    where c.id = numbered.id and c.event_offset is null`.execute(db);
  await sql`
    update live_sessions s set last_offset = coalesce(
      (select max(event_offset) from comments c where c.session_id = s.id), 0)`.execute(db);
  await sql`
    insert into chat_events (session_id, event_offset, type, frame, created_at)
    select c.session_id, c.event_offset, 'comment',
      json_build_object(
        'type', 'comment', 'id', c.id, 'session_id', c.session_id, 'user_id', c.user_id,
        'user_name', u.name, 'message', c.message,
        'ts', to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'offset', c.event_offset)::text,
      c.created_at
    from comments c join users u on u.id = c.user_id
    on conflict do nothing`.execute(db);
  await sql`create unique index if not exists comments_session_offset_idx on comments (session_id, event_offset)`.execute(
    db,
  );

  await sql`
    create table if not exists moderators (
      vendor_id ${userId} not null references users (id) on delete cascade,
      user_id ${userId} not null references users (id) on delete cascade,
      created_at timestamptz not null default now(),
      primary key (vendor_id, user_id)
    )`.execute(db);

  await sql`
    create table if not exists bans (
      vendor_id ${userId} not null references users (id) on delete cascade,
      user_id ${userId} not null references users (id) on delete cascade,
      until timestamptz,
      created_by ${userId} not null,
      created_at timestamptz not null default now(),
      primary key (vendor_id, user_id)
    )`.execute(db);

  await sql`
    create table if not exists blocked_terms (
      vendor_id ${userId} not null references users (id) on delete cascade,
      term text not null,
      primary key (vendor_id, term)
    )`.execute(db);

  await sql`
    create table if not exists moderation_log (
      id bigint generated always as identity primary key,
      vendor_id ${userId} not null,
      session_id uuid,
      actor_id ${userId} not null,
      action text not null,
      target_user_id ${userId},
      comment_id uuid,
      detail text,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index if not exists moderation_log_vendor_idx on moderation_log (vendor_id, created_at desc)`.execute(
    db,
  );
}
