/** The shapes of the Streammeon REST and WebSocket contract, as the browser sees them. */

// The server's own types: one definition of the contract (type-only, nothing reaches the bundle).
export type { Role } from '../../../src/auth/tokens.js';
export type { User } from '../../../src/auth/users.js';
export type { UserId } from '../../../src/db/schema.js';
export type { Comment } from '../../../src/live/comments.js';
/** A type here, so the value can be checked against the server's without bundling server code. */
export type { MAX_COMMENT_LENGTH } from '../../../src/live/comments.js';
export type { LiveSession } from '../../../src/live/sessions.js';
import type { User } from '../../../src/auth/users.js';
import type { UserId } from '../../../src/db/schema.js';
import type { Comment } from '../../../src/live/comments.js';

export interface AuthResult {
  access_token: string;
  token_type: 'bearer';
  user: User;
}

/** Server → client on `/ws/live/{id}`. */
export type LiveEvent =
  | { type: 'viewer_count'; count: number }
  | { type: 'views_total'; total: number }
  | {
      type: 'session_info';
      is_live: boolean;
      started_at: string;
      ended_at: string | null;
      live_duration_seconds: number;
      viewer_count: number;
      views_total: number;
    }
  | ({ type: 'comment' } & Comment)
  | { type: 'session_ended'; ended_at: string; live_duration_seconds: number }
  | { type: 'pong' }
  | { type: 'error'; code?: string; detail?: string };

export type SignalRole = 'vendor' | 'viewer';

/** A session description travels as the SDP text; objects `{type, sdp}` are accepted too. */
export type WireSdp = string | RTCSessionDescriptionInit;

/** Server → client on `/ws/signal/{id}`. Relayed messages carry the sender's peer id in `from`. */
export type SignalEvent =
  | { type: 'welcome'; peer_id: string; role: SignalRole }
  | { type: 'peer_joined'; peer_id: string; user_id?: UserId; user_name?: string }
  | { type: 'peer_left'; peer_id: string }
  | { type: 'vendor_joined'; peer_id: string }
  | { type: 'vendor_left' }
  | { type: 'offer'; from: string; sdp: WireSdp }
  | { type: 'answer'; from: string; sdp: WireSdp }
  | { type: 'candidate'; from: string; candidate: RTCIceCandidateInit | null }
  | { type: 'bye'; from: string }
  | { type: 'error'; code?: string; detail?: string };

/** Client → server on `/ws/signal/{id}`. */
export type SignalCommand =
  | { type: 'role'; value: SignalRole }
  | { type: 'offer'; to: string; sdp: string }
  | { type: 'answer'; to: string; sdp: string }
  | { type: 'candidate'; to: string; candidate: RTCIceCandidateInit | null }
  | { type: 'bye'; to?: string };

export interface AppConfig {
  ice_servers: RTCIceServer[];
}
