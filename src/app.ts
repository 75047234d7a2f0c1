import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import websocket from '@fastify/websocket';
import { Authenticator } from './auth/authenticator.js';
import { ExistingUsers } from './auth/existing-users.js';
import { Passwords } from './auth/passwords.js';
import { Tokens } from './auth/tokens.js';
import { parseUserId, Users } from './auth/users.js';
import { systemClock, type Clock } from './clock.js';
import type { Config, RateRule } from './config.js';
import { openStore, type Store } from './db/store.js';
import { RouteAuth } from './http/authenticate.js';
import { canonicalizeSessionIds } from './http/canonical-ids.js';
import {
  clientErrorHandler,
  frameworkErrors,
  installErrorHandler,
  refuseWhileClosing,
  websocketHandshakeError,
} from './http/errors.js';
import { loggerOptions, prettyLogs } from './http/log-redaction.js';
import { lingerAfterRefusedBodies } from './http/lingering-close.js';
import { registerOpenApi } from './http/openapi.js';
import { registerRateLimits } from './http/rate-limit.js';
import { recordRequestMetrics } from './http/request-metrics.js';
import { metricsRoute, metricsServer } from './http/routes/metrics.js';
import { agoraRoutes } from './http/routes/agora.js';
import { authRoutes } from './http/routes/auth.js';
import { healthRoutes } from './http/routes/health.js';
import { iceServerRoutes } from './http/routes/ice-servers.js';
import { LobbySnapshot } from './http/lobby-snapshot.js';
import { liveRoutes } from './http/routes/live.js';
import { lobbyRoutes } from './http/routes/lobby.js';
import { mySessionsRoutes } from './http/routes/me-sessions.js';
import { moderationRoutes } from './http/routes/moderation.js';
import { streamKeyRoutes } from './http/routes/stream-keys.js';
import { webRoutes } from './http/routes/web.js';
import { registerSecurityHeaders } from './http/security.js';
import { createValidatorCompiler } from './http/validation.js';
import { UserBudget } from './limits/user-budget.js';
import { countComments } from './live/comment-metrics.js';
import { createLimiter } from './limits/limiters.js';
import { ChatLog } from './live/chat-log.js';
import { Comments } from './live/comments.js';
import type { LiveEvents } from './live/events.js';
import { Moderation } from './live/moderation.js';
import { Replays } from './replays/replays.js';
import { LocalReplayStorage } from './replays/storage-local.js';
import { ReplayWorker } from './replays/worker.js';
import { replayRoutes } from './http/routes/replays.js';
import { Sessions } from './live/sessions.js';
import { Views } from './live/views.js';
import { Media } from './media/media.js';
import { mediaRoutes } from './http/routes/media.js';
import { StreamKeys } from './media/stream-keys.js';
import { Metrics } from './metrics/metrics.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { WebhookOutbox } from './webhooks/outbox.js';
import { createBackends, type RealtimeBackends } from './realtime/backends.js';
import { LiveHub } from './realtime/live-hub.js';
import { Heartbeat } from './realtime/peer.js';
import { realtimeRoutes } from './realtime/routes.js';
import { drainWebSockets } from './realtime/shutdown.js';
import { SignalHub } from './realtime/signal-hub.js';
import { SIGNAL_MAX_FRAME } from './realtime/signal-socket.js';
import { websocketErrorHandler } from './realtime/socket-errors.js';

/** What buildApp may be handed instead of creating it from the config (tests, benchmarks). */
export interface AppDeps {
  store?: Store;
  /** Bus and presence; by default in-process, or Redis when REDIS_URL is set. */
  backends?: RealtimeBackends;
  clock?: Clock;
}

/**
 * Builds a fully wired app without listening. Everything stateful is created here or passed in,
 * and closed by `app.close()` (a passed-in store stays open: its owner closes it).
 */
declare module 'fastify' {
  interface FastifyInstance {
    /** The realtime hubs, for tests and benchmarks that inspect them. */
    realtime: { liveHub: LiveHub; signalHub: SignalHub; heartbeat: Heartbeat };
    /** This app's Prometheus metrics. */
    metrics: Metrics;
    /** The METRICS_PORT listener (main.ts listens on it), when that port is configured. */
    metricsServer: FastifyInstance | undefined;
    /** Video through Janus (SFU mode) or none (mesh), for tests that look inside. */
    media: Media;
  }
}

/** The bus channel on which instances say the lobby changed (a session started or ended). */
const LOBBY_CHANNEL = 'lobby';

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock;
  const store = deps.store ?? (await openStore(config));

  const app = Fastify({
    // No credential (a token in a query string or header, a password in a URL) reaches the logs.
    logger: loggerOptions(config.logLevel, prettyLogs(config.env, process.stdout.isTTY)),
    trustProxy: config.trustProxy,
    // Deep or huge JSON from a client is refused before it costs anything.
    bodyLimit: 256 * 1024,
    // Every error is {detail}: those raised before routing, those of Node's HTTP parser, and
    // the 503 while shutting down (refuseWhileClosing, below).
    frameworkErrors,
    clientErrorHandler,
    return503OnClosing: false,
  });
  app.setValidatorCompiler(createValidatorCompiler());
  app.decorateRequest('caller', null);
  const backends = deps.backends ?? createBackends(config, app.log, config.redisPrefix);
  const { bus, presence } = backends;
  const metrics = new Metrics();
  if (backends.redis) metrics.watchRedis(backends.redis);
  recordRequestMetrics(app, metrics);
  const limiter = createLimiter(backends.redis, clock);
  app.addHook('onClose', async () => {
    await limiter.close();
    if (!deps.backends) await backends.close();
    if (!deps.store) await store.close();
  });
  installErrorHandler(app);
  lingerAfterRefusedBodies(app);
  // From the moment app.close() starts, new requests hear 503 {detail} (Fastify's own is off).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook(
    'onRequest',
    refuseWhileClosing(() => closing),
  );
  canonicalizeSessionIds(app);

  await app.register(cors, {
    origin: config.corsOrigins === '*' ? true : config.corsOrigins,
    credentials: config.corsOrigins !== '*',
    // Pages hosted on another origin read when to retry (slow mode, budgets) and the lobby's tag;
    // browser WHIP/WHEP clients read the resource, its tag and the ICE servers.
    exposedHeaders: ['retry-after', 'etag', 'location', 'link', 'accept-patch'],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  });
  // Before the routes: both attach to them as they are added.
  registerSecurityHeaders(app, { cspConnectSrc: config.cspConnectSrc });
  await registerRateLimits(app, { limiter, limits: config.rateLimits });
  const views = new Views(store.db);
  const heartbeat = new Heartbeat(config.realtime.heartbeatIntervalMs);
  const liveHub = new LiveHub(
    bus,
    presence,
    views,
    {
      viewerCountIntervalMs: config.realtime.viewerCountIntervalMs,
      recountIntervalMs: config.realtime.presenceHeartbeatMs,
      meter: { tally: metrics.tallies.live, fanoutDelay: metrics.fanoutDelay },
    },
    app.log,
  );
  const signalHub = new SignalHub(bus, app.log);
  // Replays: Janus records the sessions' rooms (the recording policy); jobs run in the background.
  const replays = new Replays(
    store.db,
    config.recordings,
    new LocalReplayStorage(join(config.recordings.dir, 'replays')),
    (ids) => sessions.getMany(ids),
  );
  // REPLAY_JOBS defaults to 1 in SFU mode and 0 in mesh mode, which then polls for nothing.
  if (config.recordings.jobs > 0) {
    const replayWorker = new ReplayWorker(store.db, replays, config.recordings, app.log);
    app.addHook('onReady', async () => replayWorker.start());
    app.addHook('preClose', async () => replayWorker.stop());
  }
  // SFU mode (JANUS_URL/JANUS_URLS): WHIP/WHEP through Janus; media state reaches /ws/live.
  const media = new Media(
    config.media,
    store.db,
    { mediaState: (id, state) => liveHub.mediaState(id, state) },
    app.log,
    replays,
  );
  app.addHook('onReady', async () => media.start());
  // Before the listener closes, which waits for requests in flight: one waiting on a Janus that
  // never answers then fails at once (503) instead of holding app.close() forever.
  app.addHook('preClose', async () => media.close());
  // An instance that hears of an end it did not cause lets go of its own WHIP/WHEP handles.
  liveHub.onSessionEnded((sessionId) => void media.sessionEnded(sessionId, false));
  // Every instance drops its lobby snapshot when any instance starts or ends a session.
  const lobbyChanged = () => bus.publish(LOBBY_CHANNEL, '');
  const events: LiveEvents = {
    commentPosted: (comment) => liveHub.commentPosted(comment),
    sessionStarted: lobbyChanged,
    chatEvent: (sessionId, message) => liveHub.chatEvent(sessionId, message),
    sessionEnded: (session) => {
      lobbyChanged();
      liveHub.sessionEnded(session);
      signalHub.sessionEnded(session);
      void media
        .sessionEnded(session.session_id, true)
        .catch((error: unknown) => {
          app.log.warn({ err: error, session: session.session_id }, 'could not tear down the media room');
        })
        .then(() => replays.sessionEnded(session.session_id))
        .catch((error: unknown) => {
          app.log.warn({ err: error, session: session.session_id }, 'could not queue the replay');
        });
    },
  };

  await app.register(websocket, {
    options: { maxPayload: SIGNAL_MAX_FRAME },
    errorHandler: websocketErrorHandler,
    // On shutdown, peers hear 1012 ("service restart") and reconnect to another instance.
    preClose: (done) => {
      heartbeat.stop();
      liveHub.close();
      signalHub.close();
      void drainWebSockets(app.websocketServer, 2_000).then(() => done());
    },
  });
  app.websocketServer.on('wsClientError', websocketHandshakeError);
  await registerOpenApi(app);

  const tokens = new Tokens(config.jwtSecret, config.accessTtlMin, clock);
  const auth = new Authenticator(tokens, store.userIdType, ExistingUsers.inDatabase(store.db, clock));
  const routeAuth = new RouteAuth(auth);
  const users = new Users(store.db, new Passwords());
  // Webhooks: any service records an event in its own transaction (outbox.enqueue); the
  // dispatcher delivers them in the background, never on a request's path.
  const outbox = new WebhookOutbox(config.webhooks.urls, clock);
  const dispatcher = outbox.enabled
    ? new WebhookDispatcher(store.db, config.webhooks, app.log, (o) => metrics.webhookAttempts.inc(o))
    : undefined;
  if (dispatcher) {
    app.addHook('onReady', async () => dispatcher.start());
    app.addHook('preClose', async () => dispatcher.stop());
  }
  const sessions = new Sessions(store.db, presence, events, clock, outbox);
  const budget = (rule: RateRule, name: string, what: string) =>
    config.rateLimits.enabled ? new UserBudget(limiter, rule, name, what) : undefined;
  const chatLog = new ChatLog(store.db);
  const comments = countComments(
    new Comments(
      store.db,
      events,
      clock,
      chatLog,
      budget(config.rateLimits.commentsPerUser, 'comments', 'Too many comments'),
    ),
    metrics,
  );
  const moderation = new Moderation(
    store.db,
    chatLog,
    events,
    clock,
    budget(config.rateLimits.moderationPerUser, 'moderation', 'Too many moderation actions'),
    outbox,
  );

  await app.register(healthRoutes, {
    store,
    busStatus: () => bus.status(),
    media: () => media.health(),
  });
  await app.register(authRoutes, { users, tokens, auth: routeAuth });
  await app.register(liveRoutes, { sessions, comments, auth: routeAuth });
  await app.register(mySessionsRoutes, { sessions, auth: routeAuth });
  await app.register(replayRoutes, { replays, auth: routeAuth });
  const snapshot =
    config.lobbySnapshotMs > 0
      ? new LobbySnapshot((limit, cursor) => sessions.listActive(limit, cursor), config.lobbySnapshotMs)
      : undefined;
  if (snapshot) {
    const unsubscribe = bus.subscribe(LOBBY_CHANNEL, () => snapshot.invalidate());
    app.addHook('onClose', async () => unsubscribe());
  }
  await app.register(lobbyRoutes, { sessions, snapshot });
  await app.register(moderationRoutes, {
    moderation,
    auth: routeAuth,
    userId: (raw) => parseUserId(String(raw), store.userIdType),
  });
  await app.register(agoraRoutes, { agora: config.agora, auth: routeAuth, sessions });
  const streamKeys = new StreamKeys(store.db, clock);
  await app.register(streamKeyRoutes, { streamKeys, auth: routeAuth });
  await app.register(iceServerRoutes, {
    turn: config.media.turn,
    staticIceServers: config.iceServers,
    clock,
    auth: routeAuth,
  });
  await app.register(mediaRoutes, {
    media,
    sessions,
    streamKeys,
    auth,
    turn: config.media.turn,
    staticIceServers: config.iceServers,
    clock,
  });
  await app.register(realtimeRoutes, {
    auth,
    sessions,
    comments,
    chatLog,
    views,
    liveHub,
    signalHub,
    heartbeat,
    maxBufferedBytes: config.realtime.maxBufferedBytes,
    tallies: metrics.tallies,
    mediaState: (sessionId) => media.state(sessionId),
  });
  await app.register(webRoutes, {
    iceServers: config.iceServers,
    media: media.mode,
    turn: config.media.turn !== undefined,
  });
  app.decorate('realtime', { liveHub, signalHub, heartbeat });

  metrics.readFrom({
    rooms: () => liveHub.size().rooms,
    viewers: () => liveHub.size().viewers,
    pool: () => store.pool(),
    bus: () => bus.status(),
    webhooksPending: dispatcher && (() => dispatcher.pending()),
  });
  // On its own port when METRICS_PORT is set; else on the public port, only with a token.
  let separate: FastifyInstance | undefined;
  if (config.metrics.port !== undefined) {
    separate = await metricsServer(metrics, config.metrics.token);
    app.addHook('onClose', async () => {
      await separate?.close();
    });
  } else if (config.metrics.token) {
    await app.register(metricsRoute, { metrics, token: config.metrics.token });
  }
  app.decorate('metrics', metrics);
  app.decorate('media', media);
  app.decorate('metricsServer', separate);

  return app;
}
