import { sql, type Kysely } from 'kysely';
import { userIdSqlType } from '../introspect.js';

/**
 * Issue 12: video through Janus.
 *
 * `stream_keys`: long-lived bearer tokens for WHIP clients (OBS, GStreamer). Only the SHA-256 of
 * a key is stored: keys are 32 random bytes, so a fast hash is enough (no guessing to slow down),
 * and the lookup by hash is one index probe. Revoked keys are kept (revoked_at) for the record.
 *
 * `media_rooms`: which Janus holds a session's VideoRoom, under which room number and secret
 * (the secret never leaves the server), the current publisher's feed, and the media state viewers
 * are told. Shared by every instance: any of them can subscribe viewers to, or destroy, the room;
 * state changes are conditional on `publisher`, so an instance whose publisher was replaced
 * cannot report the session's video as gone.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const userId = sql.raw(await userIdSqlType(db));
  await sql`
    create table if not exists stream_keys (
      id uuid primary key default gen_random_uuid(),
      user_id ${userId} not null references users (id) on delete cascade,
      name text not null,
      title text,
      key_hash text not null,
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    )`.execute(db);
  await sql`create unique index if not exists stream_keys_hash_idx on stream_keys (key_hash)`.execute(db);
  await sql`
    create index if not exists stream_keys_user_idx on stream_keys (user_id, created_at desc)
    where revoked_at is null`.execute(db);

  await sql`
    create table if not exists media_rooms (
      session_id uuid primary key references live_sessions (id) on delete cascade,
      server text not null,
      room_id bigint not null,
      secret text not null,
      publisher text,
      state text not null default 'stopped',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index if not exists media_rooms_server_idx on media_rooms (server)`.execute(db);
}
