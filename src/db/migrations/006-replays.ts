import { sql, type Kysely } from 'kysely';

/**
 * Issue 15: replays.
 *
 * `live_sessions.record`: the vendor's choice at creation; null follows the server's default.
 *
 * `replays`: one row per recorded session, and the processing job in the same row: a session
 * that ends while `recording` becomes `processing`; an instance claims it by pushing `lease_until`
 * ahead (and keeps pushing while it works), so one instance at a time processes it and a killed
 * instance's job comes due again when its lease runs out. `timeline` (JSON) maps the live's
 * wall-clock time onto the file.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table live_sessions add column if not exists record boolean`.execute(db);
  await sql`
    create table if not exists replays (
      session_id uuid primary key references live_sessions (id) on delete cascade,
      status text not null,
      storage_key text,
      content_type text,
      size_bytes bigint,
      duration_seconds double precision,
      timeline text not null default '[]',
      error text,
      attempts integer not null default 0,
      not_before timestamptz not null default now(),
      lease_until timestamptz,
      created_at timestamptz not null default now(),
      ready_at timestamptz
    )`.execute(db);
  await sql`create index if not exists replays_due_idx on replays (not_before) where status = 'processing'`.execute(
    db,
  );
  await sql`
    create index if not exists replays_ready_idx on replays (ready_at desc, session_id desc)
    where status = 'ready'`.execute(db);
}
