import { sdpText } from './sdp.js';
import type { SignalCommand, SignalEvent } from './types.js';

/** What a viewer sees of the vendor's stream. */
export type ReceiverState = 'waiting' | 'connecting' | 'playing' | 'vendor-away' | 'failed';

/**
 * A viewer's side of the stream: answers the vendor's offer and hands the incoming media to
 * `onStream`. A new offer, a `vendor_joined` (the vendor reconnected) or a fresh `welcome`
 * replaces the old connection.
 */
export class Receiver {
  private connection: RTCPeerConnection | null = null;
  private vendorPeer: string | null = null;
  private steps: Promise<void> = Promise.resolve();

  constructor(
    private readonly iceServers: RTCIceServer[],
    private readonly send: (command: SignalCommand) => boolean,
    private readonly onStream: (stream: MediaStream | null) => void,
    private readonly onState: (state: ReceiverState) => void = () => {},
  ) {}

  handle(event: SignalEvent): void {
    switch (event.type) {
      case 'welcome':
      case 'vendor_joined':
        this.reset('waiting');
        break;
      case 'vendor_left':
        this.reset('vendor-away');
        break;
      case 'bye':
        if (event.from === this.vendorPeer) this.reset('vendor-away');
        break;
      case 'offer':
        this.answer(event.from, sdpText(event.sdp));
        break;
      case 'candidate': {
        const candidate = event.candidate;
        if (candidate && event.from === this.vendorPeer) {
          this.step((c) => c.addIceCandidate(candidate));
        }
        break;
      }
      default:
        break;
    }
  }

  /** Closes the connection for good. */
  stop(): void {
    this.reset('waiting', false);
  }

  private answer(from: string, sdp: string): void {
    this.reset('connecting');
    const connection = new RTCPeerConnection({ iceServers: this.iceServers });
    this.connection = connection;
    this.vendorPeer = from;
    const incoming = new MediaStream();
    connection.ontrack = (event) => {
      if (this.connection !== connection) return;
      const stream = event.streams[0] ?? incoming;
      if (stream === incoming) incoming.addTrack(event.track);
      this.onStream(stream);
    };
    connection.onicecandidate = (event) => {
      if (event.candidate) this.send({ type: 'candidate', to: from, candidate: event.candidate.toJSON() });
    };
    connection.onconnectionstatechange = () => {
      if (this.connection !== connection) return;
      if (connection.connectionState === 'connected') this.onState('playing');
      // The vendor re-offers after a failure; until then say so.
      if (connection.connectionState === 'failed') this.onState('failed');
    };
    this.step(async (c) => {
      await c.setRemoteDescription({ type: 'offer', sdp });
      const answer = await c.createAnswer();
      await c.setLocalDescription(answer);
      this.send({ type: 'answer', to: from, sdp: c.localDescription?.sdp ?? answer.sdp ?? '' });
    });
  }

  private step(action: (connection: RTCPeerConnection) => Promise<void>): void {
    const connection = this.connection;
    if (!connection) return;
    this.steps = this.steps
      .then(() => (this.connection === connection ? action(connection) : undefined))
      .catch((error: unknown) => console.warn('signaling with the vendor failed', error));
  }

  private reset(state: ReceiverState, report = true): void {
    if (this.connection) {
      this.connection.close();
      this.connection = null;
      this.onStream(null);
    }
    this.vendorPeer = null;
    this.steps = Promise.resolve();
    if (report) this.onState(state);
  }
}
