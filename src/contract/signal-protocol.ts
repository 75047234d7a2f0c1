/**
 * `/ws/signal/{session_id}`: the WebRTC signaling relay between a session's vendor and its
 * viewers, both ways.
 *
 * The first client message may be `role` (default viewer); the server answers `welcome`. The
 * vendor hears `peer_joined` (also for each viewer already present) and `peer_left`; viewers hear
 * `vendor_joined` and `vendor_left`. `offer | answer | candidate | bye` are relayed verbatim but
 * for `from`, the sender's peer id stamped by the server: with `to` to that peer, without it
 * viewer → vendor and vendor → every viewer. `session_ended` precedes a 1000 close.
 */
import type { UserId } from './ids.js';
import type { ErrorMessage, PongMessage, SessionEndedMessage } from './live-protocol.js';

export type SignalRole = 'vendor' | 'viewer';

/** The message types relayed between peers. */
export const RELAYED_TYPES = ['offer', 'answer', 'candidate', 'bye'] as const;
export type RelayedType = (typeof RELAYED_TYPES)[number];

export interface WelcomeMessage {
  type: 'welcome';
  peer_id: string;
  role: SignalRole;
}

export interface PeerJoinedMessage {
  type: 'peer_joined';
  peer_id: string;
  user_id: UserId;
  user_name: string;
}

export interface PeerLeftMessage {
  type: 'peer_left';
  peer_id: string;
}

export interface VendorJoinedMessage {
  type: 'vendor_joined';
  peer_id: string;
}

export interface VendorLeftMessage {
  type: 'vendor_left';
  peer_id: string;
}

/** A relayed message as it arrives: the sender's fields, verbatim, and the server's `from`. */
export interface RelayedMessage {
  type: RelayedType;
  from: string;
  to?: string;
  [field: string]: unknown;
}

/** Server → client on `/ws/signal`. */
export type SignalServerMessage =
  | WelcomeMessage
  | PeerJoinedMessage
  | PeerLeftMessage
  | VendorJoinedMessage
  | VendorLeftMessage
  | RelayedMessage
  | SessionEndedMessage
  | PongMessage
  | ErrorMessage;

/** Client → server on `/ws/signal`. Relayed messages may carry any further fields (sdp, candidate). */
export type SignalClientMessage =
  | { type: 'role'; value: SignalRole }
  | { type: 'ping' }
  | { type: RelayedType; to?: string; [field: string]: unknown };
