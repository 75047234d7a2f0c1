import { sql, type Kysely } from 'kysely';

/**
 * Issue 14: the webhook outbox and each session's stats.
 *
 * `webhook_outbox` holds one row per event and receiver, written in the same transaction as the
 * change it reports, and deleted once delivered. `next_attempt_at` is both the retry schedule and
 * the lease of the instance delivering it (claimed rows are pushed past the delivery timeout),
 * so each row is sent by one instance at a time and a killed instance's rows come due again.
 *
 * `session_stats` is written when a session ends. Sessions that ended before this migration get
 * theirs from what the database knows; their `peak_viewers` was never measured and stays null.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table if not exists webhook_outbox (
      id bigint generated always as identity primary key,
      event_id uuid not null,
      event_type text not null,
      url text not null,
      body text not null,
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      last_error text,
      given_up_at timestamptz
    )`.execute(db);
  await sql`
    create index if not exists webhook_outbox_due_idx
    on webhook_outbox (next_attempt_at) where given_up_at is null`.execute(db);

  await sql`
    create table if not exists session_stats (
      session_id uuid primary key references live_sessions (id) on delete cascade,
      peak_viewers integer,
      unique_views integer not null,
      comments integer not null,
      duration_seconds integer not null,
      recorded_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    insert into session_stats (session_id, peak_viewers, unique_views, comments, duration_seconds)
    select s.id, null,
      (select count(*)::int from session_views v where v.session_id = s.id),
      (select count(*)::int from comments c where c.session_id = s.id),
      greatest(0, floor(extract(epoch from (s.ended_at - s.started_at))))::int
    from live_sessions s
    where not s.is_live and s.ended_at is not null
    on conflict (session_id) do nothing`.execute(db);
  await sql`
    create index if not exists live_sessions_vendor_ended_idx
    on live_sessions (vendor_id, started_at desc, id desc) where not is_live`.execute(db);
}
