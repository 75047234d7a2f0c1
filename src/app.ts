import Fastify, { type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import websocket from '@fastify/websocket';
import { agoraRoutes } from './agora/routes.js';
import { Passwords } from './auth/passwords.js';
import { authRoutes } from './auth/routes.js';
import { Tokens } from './auth/tokens.js';
import { Users } from './auth/users.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { openStore, type Store } from './db/store.js';
import { Authenticator } from './http/authenticate.js';
import { installErrorHandler } from './http/errors.js';
import { healthRoutes } from './http/health.js';
import { registerOpenApi } from './http/openapi.js';
import { webRoutes } from './http/web.js';
import { Comments } from './live/comments.js';
import { noLiveEvents, type LiveEvents } from './live/events.js';
import { liveRoutes } from './live/routes.js';
import { Sessions } from './live/sessions.js';
import { Views } from './live/views.js';
import { MemoryPresence } from './realtime/presence-memory.js';
import type { Presence } from './realtime/presence.js';

/** What buildApp may be handed instead of creating it from the config (tests, benchmarks). */
export interface AppDeps {
  store?: Store;
  presence?: Presence;
  clock?: Clock;
}

/**
 * Builds a fully wired app without listening. Everything stateful is created here or passed in,
 * and closed by `app.close()` (a passed-in store stays open: its owner closes it).
 */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock;
  const store = deps.store ?? (await openStore(config));
  const presence = deps.presence ?? new MemoryPresence();

  const app = Fastify({
    logger: { level: config.logLevel },
    trustProxy: true,
    // Deep or huge JSON from a client is refused before it costs anything.
    bodyLimit: 256 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });
  app.decorateRequest('caller', null);
  app.addHook('onClose', async () => {
    await presence.close();
    if (!deps.store) await store.close();
  });
  installErrorHandler(app);

  await app.register(cors, {
    origin: config.corsOrigins === '*' ? true : config.corsOrigins,
    credentials: config.corsOrigins !== '*',
  });
  await app.register(websocket);
  await registerOpenApi(app);

  const tokens = new Tokens(config.jwtSecret, config.accessTtlMin, clock);
  const auth = new Authenticator(tokens, store.userIdType);
  const users = new Users(store.db, new Passwords());
  let events: LiveEvents = noLiveEvents;
  const sessions = new Sessions(store.db, presence, () => events, clock);
  const comments = new Comments(store.db, () => events, clock);
  const views = new Views(store.db);
  void views;

  await app.register(healthRoutes, { store, busStatus: () => 'memory' });
  await app.register(authRoutes, { users, tokens, auth });
  await app.register(liveRoutes, { sessions, comments, auth });
  await app.register(agoraRoutes, { agora: config.agora, auth, sessions });
  await app.register(webRoutes, { iceServers: config.iceServers });
  void ((e: LiveEvents) => (events = e));

  return app;
}
