import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { Authenticator, Caller } from '../auth/authenticator.js';
import { CloseCode } from '../contract/close-codes.js';
import { sessionInfoMessage } from '../contract/live-protocol.js';
import { isReactionKind, REACTION_KINDS } from '../contract/reactions.js';
import type { MediaState } from '../contract/media.js';
import type { ChatLog } from '../live/chat-log.js';
import type { Comments } from '../live/comments.js';
import type { Polls } from '../live/polls.js';
import type { Reactions } from '../live/reactions.js';
import type { Sessions } from '../live/sessions.js';
import type { Views } from '../live/views.js';
import { isViewsTotalFrame, offsetOfFrame, type LiveHub } from './live-hub.js';
import type { SessionDirectory } from './session-directory.js';
import { Peer, type Heartbeat, type PeerLimits } from './peer.js';
import { admit, Inbox } from './admission.js';
import { ReceiveBudget, type ReceiveLimits } from './receive-budget.js';
import { errorEventOf, parseClientMessage } from './client-message.js';

/** Bytes a client frame on /ws/live may have; a comment is at most 1000 characters. */
export const LIVE_MAX_FRAME = 16 * 1024;

export interface LiveSocketDeps {
  auth: Authenticator;
  sessions: Sessions;
  comments: Comments;
  reactions: Reactions;
  polls: Polls;
  chatLog: ChatLog;
  views: Views;
  directory: SessionDirectory;
  hub: LiveHub;
  heartbeat: Heartbeat;
  limits: PeerLimits;
  receive: ReceiveLimits;
  log: FastifyBaseLogger;
  onDropped: (peer: Peer, bufferedBytes: number) => void;
  /** The session's video state to open with (SFU mode); undefined in mesh mode. */
  mediaState: (sessionId: string) => Promise<MediaState | undefined>;
}

/**
 * `/ws/live/{session_id}`: comments, viewer counts and unique views of one session.
 *
 * Admission: 4401 without a valid token, 4404 for an unknown session, 4410 for an ended one.
 * Then, in this order: `viewer_count`, `views_total`, `session_info` (with `?since=`, the replay
 * and `recovered`), and in SFU mode `media`; afterwards `comment`, the chat events (polls'
 * opening and closing among them), `media`, `viewer_count`, `views_total`, `reactions` and
 * polls' tallies as they change, and `session_ended` before a 1000 close.
 * Client → server: `{type:"ping"}` → `{type:"pong"}`; `{type:"comment", message}` posts a comment
 * exactly as the REST route does; `{type:"reaction", kind}` is a tap, counted (within the user's
 * budget) and never answered. Anything else gets `{type:"error", code, detail}`.
 */
export function liveSocketHandler(deps: LiveSocketDeps) {
  return async (socket: WebSocket, request: FastifyRequest<{ Params: { session_id: string } }>) => {
    const inbox = new Inbox(socket, new ReceiveBudget(deps.receive));
    const admission = await admit(socket, request, deps.auth, (id) => deps.directory.lookup(id));
    if (!admission) return;
    const { caller, session } = admission;

    // Vendors never count as viewers, nor in unique views; every other user counts once.
    const counted = caller.role !== 'vendor';
    const since = sinceOf(request.query);
    /** The last offset replayed to a recovering peer: held frames up to it are duplicates. */
    let recovered = -1;
    const peer = new Peer(socket, deps.limits, deps.onDropped);
    // Subscribe first, replay from the database, then merge: what the room broadcast meanwhile
    // waits held, and is dropped where the replay or the opening already covers it.
    peer.hold(
      (frame) =>
        isViewsTotalFrame(frame) || (recovered >= 0 && (offsetOfFrame(frame) ?? Infinity) <= recovered),
    );
    const joinedAt = performance.now();
    const subscribedAt = deps.hub.join(session.id, peer, counted);
    // From here the room delivers to this peer; what it delivered before is the replay's to cover.
    const joined = { at: joinedAt, covers: deps.hub.deliveredOffset(session.id) };
    deps.heartbeat.add(peer);
    socket.once('close', () => {
      deps.heartbeat.delete(peer);
      deps.hub.leave(session.id, peer, counted);
    });

    try {
      // The room now hears the session's end; facts read after it subscribed cannot have missed
      // it. In a join storm, all of this is a handful of statements shared by every joiner.
      const [facts, viewsTotal, viewerCount, replay, media, reactionsTotal, poll] = await Promise.all([
        deps.directory.lookup(session.id, subscribedAt),
        counted ? deps.views.recordAndTotal(session.id, caller.userId) : deps.views.total(session.id),
        deps.hub.count(session.id),
        since === undefined ? undefined : deps.chatLog.replay(session.id, since, joined),
        deps.mediaState(session.id),
        deps.reactions.totals(session.id),
        deps.polls.current(session.id),
      ]);
      if (counted) deps.hub.viewsChanged(session.id);
      if (!facts?.is_live) {
        peer.refuse(CloseCode.ended, 'Session has ended');
        return;
      }
      deps.hub.seedOffset(session.id, facts.chat.offset);
      const info = deps.sessions.present(facts, viewerCount, deps.hub.openingViews(session.id, viewsTotal));
      peer.sendFirst({ type: 'viewer_count', count: info.viewer_count });
      peer.sendFirst({ type: 'views_total', total: info.views_total });
      peer.sendFirst(sessionInfoMessage(info, facts.chat, reactionsTotal, poll));
      if (replay) {
        if (replay.complete) for (const frame of replay.frames) peer.sendFirst(frame);
        peer.sendFirst({ type: 'recovered', offset: replay.offset, complete: replay.complete });
        if (replay.complete) recovered = replay.offset;
      }
      if (media) peer.sendFirst({ type: 'media', state: media });
    } finally {
      peer.release();
    }

    inbox.drainTo(
      (data, isBinary) =>
        void handleMessage(deps, peer, caller, session.id, data, isBinary).catch((error: unknown) => {
          deps.log.error({ err: error }, 'live socket message failed');
          peer.sendJson({ type: 'error', code: 'internal', detail: 'Internal server error' });
        }),
    );
  };
}

async function handleMessage(
  deps: LiveSocketDeps,
  peer: Peer,
  caller: Caller,
  sessionId: string,
  data: RawData,
  isBinary: boolean,
): Promise<void> {
  const parsed = parseClientMessage(data, isBinary);
  if ('error' in parsed) return peer.sendJson({ type: 'error', ...parsed.error });
  const message = parsed.message;
  switch (message.type) {
    case 'ping':
      return peer.sendJson({ type: 'pong' });
    case 'comment': {
      if (typeof message.message !== 'string') {
        return peer.sendJson({
          type: 'error',
          code: 'invalid_message',
          detail: 'comment needs a string "message"',
        });
      }
      try {
        await deps.comments.post(sessionId, { id: caller.userId, name: caller.name }, message.message);
      } catch (error) {
        // Refused (invalid, ended, over budget) or not stored (database down: may be sent again).
        const event = errorEventOf(error);
        if (!event) throw error;
        peer.sendJson(event);
      }
      return;
    }
    case 'reaction':
      // Never answered: a tap over the user's budget is dropped, as reactions are lossy.
      if (isReactionKind(message.kind)) deps.reactions.tap(sessionId, caller.userId, message.kind);
      else
        peer.sendJson({
          type: 'error',
          code: 'invalid_message',
          detail: `reaction needs a "kind": one of ${REACTION_KINDS.join(', ')}`,
        });
      return;
    default:
      return peer.sendJson({
        type: 'error',
        code: 'unknown_type',
        detail: `unknown message type "${String(message.type).slice(0, 40)}"; send "ping", "comment" or "reaction"`,
      });
  }
}

/**
 * `?since=<offset>` of a reconnecting client: undefined without it; -1 (an offset no session has:
 * answered `complete: false`) when it is not a whole number.
 */
function sinceOf(query: unknown): number | undefined {
  const since = (query as Record<string, unknown> | undefined)?.since;
  if (since === undefined) return undefined;
  return typeof since === 'string' && /^\d{1,15}$/.test(since) ? Number(since) : -1;
}
