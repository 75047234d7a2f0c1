import { sql, type Kysely } from 'kysely';
import { userIdSqlType } from '../introspect.js';

/**
 * Issue 24: polls. At most one open poll per session (a partial unique index says so whatever
 * the instances race); an open poll past `ends_at` is a job of the one job queue (claimed with
 * `lease_until` and `attempts`, as replays are), which closes it. One vote per user and poll,
 * replaced by the user's later vote.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const userId = sql.raw(await userIdSqlType(db));
  await sql`
    create table if not exists polls (
      id uuid primary key,
      session_id uuid not null references live_sessions (id) on delete cascade,
      question text not null,
      options jsonb not null,
      status text not null default 'open',
      created_by ${userId} not null,
      created_at timestamptz not null default now(),
      ends_at timestamptz not null,
      closed_at timestamptz,
      lease_until timestamptz,
      attempts integer not null default 0
    )`.execute(db);
  await sql`create unique index if not exists polls_one_open_idx on polls (session_id) where status = 'open'`.execute(
    db,
  );
  await sql`create index if not exists polls_due_idx on polls (ends_at) where status = 'open'`.execute(db);
  await sql`create index if not exists polls_session_idx on polls (session_id, created_at)`.execute(db);
  await sql`
    create table if not exists poll_votes (
      poll_id uuid not null references polls (id) on delete cascade,
      user_id ${userId} not null,
      option integer not null,
      voted_at timestamptz not null default now(),
      primary key (poll_id, user_id)
    )`.execute(db);
}
