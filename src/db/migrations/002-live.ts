import { sql, type Kysely } from 'kysely';
import { columnsOf, tableExists, userIdSqlType } from '../introspect.js';

/**
 * Live sessions, comments and unique views. Every reference to a user uses the type of
 * `users.id`, whichever it is.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const userId = sql.raw(await userIdSqlType(db));

  if (!(await tableExists(db, 'live_sessions'))) {
    await sql`
      create table live_sessions (
        id uuid primary key default gen_random_uuid(),
        vendor_id ${userId} not null references users (id) on delete cascade,
        title text not null,
        is_live boolean not null default true,
        started_at timestamptz not null default now(),
        ended_at timestamptz
      )`.execute(db);
  } else {
    const columns = await columnsOf(db, 'live_sessions');
    if (!columns.has('is_live'))
      await sql`alter table live_sessions add column is_live boolean not null default true`.execute(db);
    if (!columns.has('started_at'))
      await sql`alter table live_sessions add column started_at timestamptz not null default now()`.execute(
        db,
      );
    if (!columns.has('ended_at'))
      await sql`alter table live_sessions add column ended_at timestamptz`.execute(db);
  }
  await sql`
    create index if not exists live_sessions_live_idx
    on live_sessions (started_at desc, id desc) where is_live`.execute(db);
  await sql`create index if not exists live_sessions_vendor_idx on live_sessions (vendor_id)`.execute(db);

  if (!(await tableExists(db, 'comments'))) {
    await sql`
      create table comments (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity,
        session_id uuid not null references live_sessions (id) on delete cascade,
        user_id ${userId} not null references users (id) on delete cascade,
        message text not null,
        created_at timestamptz not null default now()
      )`.execute(db);
  } else {
    const columns = await columnsOf(db, 'comments');
    if (!columns.has('seq'))
      await sql`alter table comments add column seq bigint generated always as identity`.execute(db);
    if (!columns.has('created_at'))
      await sql`alter table comments add column created_at timestamptz not null default now()`.execute(db);
  }
  await sql`create index if not exists comments_session_seq_idx on comments (session_id, seq desc)`.execute(
    db,
  );

  await sql`
    create table if not exists session_views (
      session_id uuid not null references live_sessions (id) on delete cascade,
      user_id ${userId} not null references users (id) on delete cascade,
      first_viewed_at timestamptz not null default now(),
      primary key (session_id, user_id)
    )`.execute(db);
}
