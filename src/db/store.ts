import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type Dialect } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import { userIdType } from './introspect.js';
import type { Database, UserIdType } from './schema.js';

/** The durable state: one Kysely handle over PostgreSQL or embedded PGlite, same SQL for both. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
  /** The type of `users.id`, known once migrations have run. */
  readonly userIdType: UserIdType;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** The PostgreSQL pool's connections and waiting queries (metrics); undefined on PGlite. */
  pool(): { total: number; idle: number; waiting: number } | undefined;
  close(): Promise<void>;
}

export interface StoreOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  /** Connections in the PostgreSQL pool. */
  poolSize?: number;
}

const INT8_OID = 20;

/** 64-bit integers (`count(*)`, BIGINT ids) arrive as numbers while they fit exactly. */
function parseInt8(value: string): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

/** Opens the database named by `options` and brings its schema up to date. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const { dialect, kind, pool } = createDialect(options);
  const db = new Kysely<Database>({ dialect });
  try {
    await migrate(db);
    const idType = await userIdType(db as Kysely<unknown>);
    return {
      db,
      kind,
      userIdType: idType,
      async ping() {
        await sql`select 1`.execute(db);
      },
      pool: () => pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
      async close() {
        await db.destroy();
      },
    };
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw error;
  }
}

function createDialect(options: StoreOptions): { dialect: Dialect; kind: Store['kind']; pool?: pg.Pool } {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID
            ? parseInt8
            : (pg.types.getTypeParser(oid, format) as (
                value: string,
              ) => unknown)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client whose server went away emits 'error'; the pool replaces it on next use.
    pool.on('error', () => undefined);
    // A client whose backend dies while it is checked out (pg_terminate_backend, a failover, a
    // restart) emits 'error' with no pool listener attached, which would crash the process. Its
    // query fails on its own (503 to the caller) and the pool discards the client on release.
    pool.on('connect', (client) => client.on('error', () => undefined));
    return { dialect: new PostgresDialect({ pool }), kind: 'postgres', pool };
  }
  let dir = options.dataDir;
  if (!dir.startsWith('memory://')) {
    dir = resolve(dir, 'pglite');
    mkdirSync(dir, { recursive: true });
  }
  const pglite = new PGlite(dir, { parsers: { [INT8_OID]: parseInt8 } });
  return { dialect: new PGliteDialect(pglite), kind: 'pglite' };
}

/**
 * Applies pending migrations. Kysely's migrator holds a PostgreSQL advisory lock while it runs,
 * so instances that start together apply each migration exactly once.
 */
export async function migrate(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrations });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : JSON.stringify(error);
    throw new Error(failed ? `migration ${failed} failed: ${reason}` : `migrations failed: ${reason}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
