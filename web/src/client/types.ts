/**
 * The shapes the browser sends and receives. Every one is the server's contract (src/contract/),
 * imported as types only: nothing of the server reaches the bundle.
 */
import type { MediaMode } from '../../../src/contract/media.js';
import type { SignalClientMessage, SignalServerMessage } from '../../../src/contract/signal-protocol.js';

export type { UserId } from '../../../src/contract/ids.js';
export type {
  AuthResult,
  Ban,
  Comment,
  LiveSession,
  Moderator,
  Role,
  User,
} from '../../../src/contract/rest.js';
export type { CreatePoll, Poll } from '../../../src/contract/polls.js';
export type { Replay, ReplayPage, ReplaySegment, ReplayStatus } from '../../../src/contract/replays.js';
export type { LiveServerMessage as LiveEvent } from '../../../src/contract/live-protocol.js';
export type { IceServers, MediaMode, MediaState } from '../../../src/contract/media.js';
export type { SignalRole } from '../../../src/contract/signal-protocol.js';

/**
 * How this app fills the free-form fields of relayed signaling messages (the server relays any
 * fields verbatim): a session description as its SDP text (objects `{type, sdp}` accepted too),
 * and ICE candidates as RTCIceCandidateInit.
 */
export type WireSdp = string | RTCSessionDescriptionInit;

type Relayed =
  | { type: 'offer'; from: string; sdp: WireSdp }
  | { type: 'answer'; from: string; sdp: WireSdp }
  | { type: 'candidate'; from: string; candidate: RTCIceCandidateInit | null }
  | { type: 'bye'; from: string };

/** Server → client on `/ws/signal/{id}`, with this app's relayed payloads. */
export type SignalEvent = Exclude<SignalServerMessage, { from: string }> | Relayed;

/** Client → server on `/ws/signal/{id}`: the messages this app sends. */
export type SignalCommand =
  | Extract<SignalClientMessage, { type: 'role' | 'ping' }>
  | { type: 'offer'; to: string; sdp: string }
  | { type: 'answer'; to: string; sdp: string }
  | { type: 'candidate'; to: string; candidate: RTCIceCandidateInit | null }
  | { type: 'bye'; to?: string };

/** `GET /app-config.json` as the pages use it: the contract's shape with the ICE servers typed. */
export interface AppConfig {
  ice_servers: RTCIceServer[];
  /** Which path video takes: browser to browser (`mesh`) or through the media server (`sfu`). */
  media: MediaMode;
  /** Fresh TURN credentials are to be had from `GET /ice-servers`. */
  turn: boolean;
}
