import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import { CloseCode } from '../contract/close-codes.js';
import { RELAYED_TYPES, type RelayedType } from '../contract/signal-protocol.js';
import { admit, Inbox } from './admission.js';
import { ReceiveBudget, type ReceiveLimits } from './receive-budget.js';
import { parseClientMessage, type ClientMessage } from './client-message.js';
import { Peer, type Heartbeat, type PeerLimits } from './peer.js';
import type { SessionDirectory } from './session-directory.js';
import type { SignalHub, SignalPeer } from './signal-hub.js';

/** Signaling frames may be this large: an SDP offer with many candidates is tens of KiB. */
export const SIGNAL_MAX_FRAME = 64 * 1024;

/** How long the server waits for the optional `{type:"role"}` first message. */
export const ROLE_WAIT_MS = 1_000;

/** The message types relayed between peers, verbatim but for the `from` stamp. */
const RELAYED: ReadonlySet<string> = new Set<RelayedType>(RELAYED_TYPES);

export interface SignalSocketDeps {
  auth: Authenticator;
  directory: SessionDirectory;
  hub: SignalHub;
  heartbeat: Heartbeat;
  limits: PeerLimits;
  receive: ReceiveLimits;
  log: FastifyBaseLogger;
  onDropped: (peer: Peer, bufferedBytes: number) => void;
}

/**
 * `/ws/signal/{session_id}`: WebRTC signaling between a session's vendor and its viewers.
 *
 * Admission as /ws/live (4401, 4404, 4410). The first message may be
 * `{type:"role", value:"vendor"|"viewer"}` (default viewer); `vendor` needs the session's own
 * vendor, else 4403. The server answers `{type:"welcome", peer_id, role}`. The vendor hears
 * `peer_joined` (also for each viewer already present) and `peer_left`; viewers hear
 * `vendor_joined` and `vendor_left`. `offer | answer | candidate | bye` are relayed stamped with
 * `from`: with `to` to that peer, without it viewer → vendor and vendor → every viewer.
 */
export function signalSocketHandler(deps: SignalSocketDeps) {
  return async (socket: WebSocket, request: FastifyRequest<{ Params: { session_id: string } }>) => {
    const inbox = new Inbox(socket, new ReceiveBudget(deps.receive));
    const admission = await admit(socket, request, deps.auth, (id) => deps.directory.lookup(id));
    if (!admission) return;
    const { caller, session } = admission;
    await inbox.waitForFrame(ROLE_WAIT_MS);
    if (socket.readyState !== WebSocket.OPEN) return;

    let role: SignalPeer['role'] = 'viewer';
    const first = inbox.frames[0] && parseClientMessage(inbox.frames[0].data, inbox.frames[0].isBinary);
    if (first && 'message' in first && first.message.type === 'role') {
      inbox.frames.shift();
      if (first.message.value === 'vendor') role = 'vendor';
      else if (first.message.value !== 'viewer') {
        return socket.close(CloseCode.policy, 'role must be "vendor" or "viewer"');
      }
    }
    if (
      role === 'vendor' &&
      (caller.role !== 'vendor' || String(session.vendor_id) !== String(caller.userId))
    ) {
      return socket.close(CloseCode.forbidden, "only this session's vendor may take the vendor role");
    }

    const me: SignalPeer = {
      peerId: randomBytes(8).toString('hex'),
      role,
      userId: caller.userId,
      userName: caller.name,
      peer: new Peer(socket, deps.limits, deps.onDropped),
    };
    // Held until the welcome is sent, so the session's end (which closes the room) cannot overtake it.
    me.peer.hold();
    const subscribedAt = deps.hub.join(session.id, me);
    deps.heartbeat.add(me.peer);
    socket.once('close', () => {
      deps.heartbeat.delete(me.peer);
      deps.hub.leave(session.id, me);
    });
    try {
      // Admission may have read facts cached before the session ended: read them again now that
      // the room hears the end, as /ws/live does.
      const facts = await deps.directory.lookup(session.id, subscribedAt);
      if (!facts?.is_live) return me.peer.refuse(CloseCode.ended, 'Session has ended');
      me.peer.sendFirst({ type: 'welcome', peer_id: me.peerId, role });
    } finally {
      me.peer.release();
    }

    inbox.drainTo((data, isBinary) => handleMessage(deps, session.id, me, data, isBinary));
  };
}

function handleMessage(
  deps: SignalSocketDeps,
  sessionId: string,
  me: SignalPeer,
  data: RawData,
  isBinary: boolean,
) {
  const parsed = parseClientMessage(data, isBinary);
  if ('error' in parsed) return me.peer.sendJson({ type: 'error', ...parsed.error });
  const message: ClientMessage = parsed.message;

  if (message.type === 'ping') return me.peer.sendJson({ type: 'pong' });
  if (message.type === 'role') {
    return me.peer.sendJson({
      type: 'error',
      code: 'role_already_set',
      detail: 'role is chosen by the first message only',
    });
  }
  if (!RELAYED.has(message.type)) {
    return me.peer.sendJson({
      type: 'error',
      code: 'unknown_type',
      detail: `unknown message type "${message.type.slice(0, 40)}"; relayed types are offer, answer, candidate, bye`,
    });
  }

  const to = message.to;
  if (to !== undefined && typeof to !== 'string') {
    return me.peer.sendJson({
      type: 'error',
      code: 'invalid_message',
      detail: '"to" must be a peer_id string',
    });
  }
  // The stamp is the server's word: a client cannot pose as another peer.
  const frame = JSON.stringify({ ...message, from: me.peerId });
  if (me.role === 'vendor') {
    deps.hub.relay(sessionId, to ? { peer: to } : 'viewers', frame);
    return;
  }
  if (to !== undefined && to !== deps.hub.vendorOf(sessionId)) {
    return me.peer.sendJson({
      type: 'error',
      code: 'forbidden_target',
      detail: 'viewers can only signal the vendor',
    });
  }
  deps.hub.relay(sessionId, 'vendor', frame);
}
