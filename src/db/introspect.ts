import { sql, type Kysely } from 'kysely';
import type { UserIdType } from './schema.js';

/** True when `table` exists in the current schema. */
export async function tableExists(db: Kysely<unknown>, table: string): Promise<boolean> {
  const result = await sql<{ found: boolean }>`select to_regclass(${table}) is not null as found`.execute(db);
  return result.rows[0]?.found === true;
}

/** The column names of `table` in the current schema. */
export async function columnsOf(db: Kysely<unknown>, table: string): Promise<Set<string>> {
  const result = await sql<{ column_name: string }>`
    select column_name from information_schema.columns
    where table_schema = current_schema() and table_name = ${table}`.execute(db);
  return new Set(result.rows.map((r) => r.column_name));
}

/** The SQL type of `users.id`, to be used for every column that references it. */
export async function userIdSqlType(db: Kysely<unknown>): Promise<'uuid' | 'integer' | 'bigint'> {
  const result = await sql<{ data_type: string }>`
    select data_type from information_schema.columns
    where table_schema = current_schema() and table_name = 'users' and column_name = 'id'`.execute(db);
  const type = result.rows[0]?.data_type;
  if (type === 'uuid' || type === 'integer' || type === 'bigint') return type;
  throw new Error(
    `users.id has type "${type ?? 'missing'}"; only uuid, integer and bigint ids are supported`,
  );
}

/** Whether user ids are UUID strings or integers in this database. */
export async function userIdType(db: Kysely<unknown>): Promise<UserIdType> {
  return (await userIdSqlType(db)) === 'uuid' ? 'uuid' : 'integer';
}
