import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A PostgreSQL database made for one test suite and dropped after it. */
export interface ThrowawayDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database next to the one DATABASE_URL names (which serves only as the admin
 * connection), so suites never share or dirty each other's data.
 */
export async function createThrowawayDatabase(prefix = 'sm_test'): Promise<ThrowawayDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is not set');
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl.replace(/^postgresql\+\w+:/, 'postgresql:') });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl.replace(/^postgresql\+\w+:/, 'postgresql:'));
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({
        connectionString: adminUrl.replace(/^postgresql\+\w+:/, 'postgresql:'),
      });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Storage for a test that does not care which: a throwaway PostgreSQL database when DATABASE_URL
 * is set (it starts in a fraction of a second), else embedded PGlite in memory (a few seconds).
 * `env` is what a server process or loadConfig needs for it.
 */
export async function quickDatabase(): Promise<{
  env: Record<string, string>;
  url: string | undefined;
  drop(): Promise<void>;
}> {
  if (!process.env.DATABASE_URL)
    return { env: { DATA_DIR: 'memory://' }, url: undefined, drop: async () => {} };
  const database = await createThrowawayDatabase();
  return { env: { DATABASE_URL: database.url }, url: database.url, drop: () => database.drop() };
}
