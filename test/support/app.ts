import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './databases.js';
import { teardown } from './teardown.js';

export type StoreKind = 'pglite' | 'postgres';

/** The bound on one app's close in a test (teardown.ts). */
const APP_CLOSE_MS = 20_000;

/** A listening app on a random port, with its own fresh database. */
export interface RunningApp {
  app: FastifyInstance;
  config: Config;
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  /** `ws://127.0.0.1:PORT` */
  wsUrl: string;
  /** Closes the app and drops its database, each step bounded (teardown.ts). */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Default: PostgreSQL when DATABASE_URL is set (a throwaway database), else PGlite in memory. */
  store?: StoreKind;
  /** Extra environment for loadConfig (JWT_SECRET, REDIS_URL, …). */
  env?: Record<string, string | undefined>;
  /** Use this database URL instead of creating one (PostgreSQL) . */
  databaseUrl?: string;
  deps?: AppDeps;
  /** Listen on this address instead of 127.0.0.1 (media tests: the veth address a namespace reaches). */
  host?: string;
}

/** Builds and starts the app the way main.ts does, on a fresh database of the given kind. */
export async function startApp(options: StartOptions = {}): Promise<RunningApp> {
  // PostgreSQL whenever it is configured: a throwaway database costs ~50 ms where PGlite costs
  // seconds to open and migrate. Suites about PGlite say `store: 'pglite'`.
  const kind = options.store ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
  let database: ThrowawayDatabase | undefined;
  let databaseUrl = options.databaseUrl;
  if (kind === 'postgres' && !databaseUrl && !options.deps?.store) {
    database = await createThrowawayDatabase();
    databaseUrl = database.url;
  }
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'test-secret-that-is-long-enough',
    DATA_DIR: 'memory://',
    ...options.env,
    DATABASE_URL: kind === 'postgres' ? databaseUrl : undefined,
  });
  const app = await buildApp(config, options.deps);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    app,
    config,
    baseUrl: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    close: () =>
      teardown([
        // A request that never ends (a peer that stopped answering) is cut when the bound passes.
        // Twice main.ts's own 9 s shutdown deadline: an app may legitimately take seconds to
        // drain sockets, Janus and webhooks, and only one that never ends is a failure.
        {
          name: 'app.close',
          run: () => app.close(),
          force: () => app.server.closeAllConnections(),
          ms: APP_CLOSE_MS,
        },
        database && { name: 'database.drop', run: () => database.drop() },
      ]),
  };
}

/** Two instances of the app on one throwaway PostgreSQL database and one Redis (its own prefix). */
export interface RunningPair {
  a: RunningApp;
  b: RunningApp;
  /** The database both use (a test that writes behind the API's back opens its own store on it). */
  databaseUrl: string;
  /** Closes both apps, then drops the database. */
  close(): Promise<void>;
}

/**
 * Starts two instances as a multi-instance deployment runs them: one PostgreSQL database, one
 * Redis under a prefix of their own (`prefix` names the suite in it), the same `env` and `deps`.
 */
export async function startPair(
  prefix: string,
  options: { env?: Record<string, string | undefined>; deps?: AppDeps } = {},
): Promise<RunningPair> {
  const database = await createThrowawayDatabase();
  const env = {
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: `${prefix}-${crypto.randomUUID().slice(0, 8)}:`,
    ...options.env,
  };
  const start = () => startApp({ store: 'postgres', databaseUrl: database.url, env, deps: options.deps });
  const started: RunningApp[] = [];
  const close = async () => {
    for (const app of started) await app.close();
    await database.drop();
  };
  try {
    started.push(await start());
    started.push(await start());
  } catch (error) {
    await close();
    throw error;
  }
  return { a: started[0]!, b: started[1]!, databaseUrl: database.url, close };
}
