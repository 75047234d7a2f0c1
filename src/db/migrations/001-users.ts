import { sql, type Kysely } from 'kysely';
import { columnsOf, tableExists } from '../introspect.js';

/**
 * Creates `users`, or adopts the original service's `users` table: its rows and its id type
 * (UUID or INTEGER) are kept, and the columns this service needs are added.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(await tableExists(db, 'users'))) {
    await sql`
      create table users (
        id uuid primary key default gen_random_uuid(),
        email text not null,
        name text not null,
        password_hash text not null,
        role text not null default 'user',
        created_at timestamptz not null default now()
      )`.execute(db);
  } else {
    const columns = await columnsOf(db, 'users');
    if (!columns.has('email')) await sql`alter table users add column email text`.execute(db);
    if (!columns.has('name')) {
      await sql`alter table users add column name text`.execute(db);
      await sql`update users set name = split_part(email, '@', 1) where name is null`.execute(db);
    }
    if (!columns.has('password_hash')) {
      await sql`alter table users add column password_hash text`.execute(db);
      // Older variants of the original named the column differently.
      for (const legacy of ['hashed_password', 'password']) {
        if (columns.has(legacy)) {
          await sql`update users set password_hash = ${sql.ref(legacy)} where password_hash is null`.execute(
            db,
          );
        }
      }
    }
    if (!columns.has('role')) {
      await sql`alter table users add column role text not null default 'user'`.execute(db);
    }
    if (!columns.has('created_at')) {
      await sql`alter table users add column created_at timestamptz not null default now()`.execute(db);
    }
  }

  // Emails are unique regardless of case. An adopted table that already holds two spellings of one
  // address keeps working (lookups are case-insensitive); the index waits until they are merged.
  const clashes = await sql<{ n: number }>`
    select count(*)::int as n from (
      select lower(email) from users group by lower(email) having count(*) > 1
    ) d`.execute(db);
  if ((clashes.rows[0]?.n ?? 0) === 0) {
    await sql`create unique index if not exists users_email_lower_key on users (lower(email))`.execute(db);
  } else {
    await sql`create index if not exists users_email_lower_idx on users (lower(email))`.execute(db);
  }
}
