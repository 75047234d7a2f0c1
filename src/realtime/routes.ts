import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Authenticator } from '../http/authenticate.js';
import type { Comments } from '../live/comments.js';
import type { Sessions } from '../live/sessions.js';
import type { Views } from '../live/views.js';
import type { LiveHub } from './live-hub.js';
import { liveSocketHandler } from './live-socket.js';
import type { Heartbeat, Peer, PeerLimits } from './peer.js';
import type { SignalHub } from './signal-hub.js';
import { SessionDirectory } from './session-directory.js';
import { signalSocketHandler } from './signal-socket.js';

export interface RealtimeRoutesOptions {
  auth: Authenticator;
  sessions: Sessions;
  comments: Comments;
  views: Views;
  liveHub: LiveHub;
  signalHub: SignalHub;
  heartbeat: Heartbeat;
  maxBufferedBytes: number;
}

const Params = Type.Object({ session_id: Type.String({ maxLength: 64 }) });

/** `/ws/live/{session_id}` and `/ws/signal/{session_id}`. */
export const realtimeRoutes: FastifyPluginAsync<RealtimeRoutesOptions> = async (app, options) => {
  const onDropped = (_peer: Peer, bufferedBytes: number) =>
    app.log.warn({ bufferedBytes }, 'dropped a peer that stopped reading');
  // One read of a session's facts serves a whole join storm; an end heard on the bus evicts them.
  const directory = new SessionDirectory(options.sessions);
  options.liveHub.onSessionEnded((sessionId) => directory.ended(sessionId));
  // Comments are rare per person; signaling bursts ICE candidates.
  const liveLimits: PeerLimits = {
    maxBufferedBytes: options.maxBufferedBytes,
    messagesPerSecond: 10,
    burst: 30,
  };
  const signalLimits: PeerLimits = {
    maxBufferedBytes: options.maxBufferedBytes,
    messagesPerSecond: 100,
    burst: 300,
  };

  app.route<{ Params: { session_id: string } }>({
    method: 'GET',
    url: '/ws/live/:session_id',
    schema: { params: Params, hide: true },
    handler: upgradeRequired,
    wsHandler: liveSocketHandler({
      auth: options.auth,
      sessions: options.sessions,
      comments: options.comments,
      views: options.views,
      directory,
      hub: options.liveHub,
      heartbeat: options.heartbeat,
      limits: liveLimits,
      log: app.log,
      onDropped,
    }),
  });

  app.route<{ Params: { session_id: string } }>({
    method: 'GET',
    url: '/ws/signal/:session_id',
    schema: { params: Params, hide: true },
    handler: upgradeRequired,
    wsHandler: signalSocketHandler({
      auth: options.auth,
      directory,
      hub: options.signalHub,
      heartbeat: options.heartbeat,
      limits: signalLimits,
      log: app.log,
      onDropped,
    }),
  });
};

/** A plain HTTP request to a WebSocket endpoint: say what it is instead of a bare 404. */
async function upgradeRequired(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await reply
    .code(426)
    .header('upgrade', 'websocket')
    .send({ detail: 'This is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)' });
}
