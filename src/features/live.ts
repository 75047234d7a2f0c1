import websocket from '@fastify/websocket';
import fp from 'fastify-plugin';
import { parseUserId } from '../auth/users.js';
import { websocketHandshakeError } from '../http/errors.js';
import { LobbySnapshot } from '../http/lobby-snapshot.js';
import { liveRoutes } from '../http/routes/live.js';
import { lobbyRoutes } from '../http/routes/lobby.js';
import { mySessionsRoutes } from '../http/routes/me-sessions.js';
import { moderationRoutes } from '../http/routes/moderation.js';
import { realtimeRoutes } from '../realtime/routes.js';
import { drainWebSockets } from '../realtime/shutdown.js';
import { SIGNAL_MAX_FRAME } from '../realtime/signal-socket.js';
import { websocketErrorHandler } from '../realtime/socket-errors.js';
import type { Services } from './services.js';

/**
 * Live sessions and their chat: the sessions, lobby and moderation routes, and the two
 * WebSockets (`/ws/live`, `/ws/signal`), which hear 1012 on shutdown.
 */
export const live = fp<Services>(async (app, services) => {
  const { config, sessions, comments, moderation, routeAuth, liveHub, signalHub, heartbeat } = services;
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
  await app.register(liveRoutes, { sessions, comments, reactions: services.reactions, auth: routeAuth });
  await app.register(mySessionsRoutes, { sessions, auth: routeAuth });
  // Every instance drops its lobby snapshot when any instance starts or ends a session.
  const snapshot =
    config.lobbySnapshotMs > 0
      ? new LobbySnapshot(
          (limit, cursor) => sessions.listActive(limit, cursor),
          config.lobbySnapshotMs,
          () => services.clock.now(),
        )
      : undefined;
  if (snapshot) services.lifecycle.onChange(() => snapshot.invalidate());
  // Another instance's end shows on this one's next read of the session, as the bus carries it.
  services.lifecycle.onChange((change) => sessions.changed(change.sessionId));
  await app.register(lobbyRoutes, { sessions, snapshot });
  await app.register(moderationRoutes, {
    moderation,
    auth: routeAuth,
    userId: (raw) => parseUserId(String(raw), services.store.userIdType),
  });
  await app.register(realtimeRoutes, {
    auth: services.auth,
    sessions,
    comments,
    reactions: services.reactions,
    polls: services.polls,
    chatLog: services.chatLog,
    views: services.views,
    liveHub,
    signalHub,
    heartbeat,
    maxBufferedBytes: config.realtime.maxBufferedBytes,
    tallies: services.metrics.tallies,
    mediaState: (sessionId) => services.media.state(sessionId),
  });
});
