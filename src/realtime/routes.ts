import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { MediaState } from '../contract/media.js';
import { SocketParams } from '../contract/rest.js';
import type { WebSocket } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import type { ChatLog } from '../live/chat-log.js';
import type { Comments } from '../live/comments.js';
import type { Polls } from '../live/polls.js';
import type { Reactions } from '../live/reactions.js';
import type { Sessions } from '../live/sessions.js';
import type { Views } from '../live/views.js';
import { SocketTally, type Endpoint } from '../metrics/metrics.js';
import type { LiveHub } from './live-hub.js';
import { LIVE_MAX_FRAME, liveSocketHandler } from './live-socket.js';
import type { Heartbeat, Peer, PeerLimits } from './peer.js';
import type { SignalHub } from './signal-hub.js';
import { SessionDirectory } from './session-directory.js';
import { SIGNAL_MAX_FRAME, signalSocketHandler } from './signal-socket.js';
import type { ReceiveLimits } from './receive-budget.js';

export interface RealtimeRoutesOptions {
  auth: Authenticator;
  sessions: Sessions;
  comments: Comments;
  reactions: Reactions;
  polls: Polls;
  chatLog: ChatLog;
  views: Views;
  liveHub: LiveHub;
  signalHub: SignalHub;
  heartbeat: Heartbeat;
  maxBufferedBytes: number;
  /** Per endpoint: open sockets, messages sent and dropped (metrics); counted apart if absent. */
  tallies?: Record<Endpoint, SocketTally>;
  /** The session's video state a `/ws/live` socket opens with (SFU mode). */
  mediaState?: (sessionId: string) => Promise<MediaState | undefined>;
}

/** `/ws/live/{session_id}` and `/ws/signal/{session_id}`. */
export const realtimeRoutes: FastifyPluginAsync<RealtimeRoutesOptions> = async (app, options) => {
  const onDropped = (_peer: Peer, bufferedBytes: number) =>
    app.log.warn({ bufferedBytes }, 'dropped a peer that stopped reading');
  // One read of a session's facts serves a whole join storm; an end heard on the bus evicts them.
  const directory = new SessionDirectory(options.sessions);
  options.liveHub.onSessionEnded((sessionId) => directory.ended(sessionId));
  options.liveHub.onChatStateChanged((sessionId) => {
    directory.changed(sessionId);
    options.polls.changed(sessionId);
  });
  const tallies = options.tallies ?? { live: new SocketTally(), signal: new SocketTally() };
  const liveLimits: PeerLimits = { maxBufferedBytes: options.maxBufferedBytes, tally: tallies.live };
  const signalLimits: PeerLimits = { maxBufferedBytes: options.maxBufferedBytes, tally: tallies.signal };
  // Comments are rare per person and at most 4 KB (1000 characters of up to 4 bytes); reactions
  // count up to 10 a second per user, so a steady tapper still has room for comments and pings.
  const liveReceive: ReceiveLimits = {
    maxFrameBytes: LIVE_MAX_FRAME,
    messagesPerSecond: 20,
    burst: 30,
    bytesPerSecond: 16 * 1024,
    burstBytes: 128 * 1024,
  };
  // Signaling bursts ICE candidates and a vendor sends an offer (a few KiB) to every viewer; a
  // byte burst of a quarter of the send bound keeps any one sender far from filling a receiver.
  const signalReceive: ReceiveLimits = {
    maxFrameBytes: SIGNAL_MAX_FRAME,
    messagesPerSecond: 100,
    burst: 300,
    bytesPerSecond: 128 * 1024,
    burstBytes: Math.min(512 * 1024, Math.floor(options.maxBufferedBytes / 4)),
  };

  app.route<{ Params: { session_id: string } }>({
    method: 'GET',
    url: '/ws/live/:session_id',
    config: { limits: ['ws-connect-ip'] },
    schema: { params: SocketParams, hide: true },
    handler: upgradeRequired,
    wsHandler: tracked(
      'live',
      tallies.live,
      app.log,
      liveSocketHandler({
        auth: options.auth,
        sessions: options.sessions,
        comments: options.comments,
        reactions: options.reactions,
        polls: options.polls,
        chatLog: options.chatLog,
        views: options.views,
        directory,
        hub: options.liveHub,
        heartbeat: options.heartbeat,
        limits: liveLimits,
        receive: liveReceive,
        log: app.log,
        onDropped,
        mediaState: options.mediaState ?? (async () => undefined),
      }),
    ),
  });

  app.route<{ Params: { session_id: string } }>({
    method: 'GET',
    url: '/ws/signal/:session_id',
    config: { limits: ['ws-connect-ip'] },
    schema: { params: SocketParams, hide: true },
    handler: upgradeRequired,
    wsHandler: tracked(
      'signal',
      tallies.signal,
      app.log,
      signalSocketHandler({
        auth: options.auth,
        directory,
        hub: options.signalHub,
        heartbeat: options.heartbeat,
        limits: signalLimits,
        receive: signalReceive,
        log: app.log,
        onDropped,
      }),
    ),
  });
};

type SocketHandler = (
  socket: WebSocket,
  request: FastifyRequest<{ Params: { session_id: string } }>,
) => Promise<void>;

/**
 * Counts the endpoint's open sockets, and logs one line when each closes: its session, how long
 * it was open and the close code (refused ones too: 4401, 4404, …).
 */
function tracked(endpoint: Endpoint, tally: SocketTally, log: FastifyBaseLogger, handler: SocketHandler) {
  return (socket: WebSocket, request: FastifyRequest<{ Params: { session_id: string } }>) => {
    const openedAt = performance.now();
    const sessionId = request.params.session_id;
    tally.open += 1;
    socket.once('close', (code: number) => {
      tally.open -= 1;
      const seconds = Math.round(performance.now() - openedAt) / 1000;
      log.info({ endpoint, sessionId, durationSeconds: seconds, code }, 'websocket closed');
    });
    return handler(socket, request);
  };
}

/** A plain HTTP request to a WebSocket endpoint: say what it is instead of a bare 404. */
async function upgradeRequired(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await reply
    .code(426)
    .header('upgrade', 'websocket')
    .send({ detail: 'This is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)' });
}
