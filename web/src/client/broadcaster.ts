import { sdpText } from './sdp.js';
import type { SignalCommand, SignalEvent } from './types.js';

/** Connection states per viewer, for the studio's "connected viewers" readout. */
export type PeerStates = ReadonlyMap<string, RTCPeerConnectionState>;

interface ViewerLink {
  connection: RTCPeerConnection;
  /** Signaling steps for one viewer run one after another (a candidate must follow the answer). */
  steps: Promise<void>;
  retries: number;
}

const MAX_RETRIES_PER_VIEWER = 3;

/**
 * The vendor's side of the stream: one RTCPeerConnection per viewer, each offered the camera and
 * microphone tracks. Viewers are learnt from `peer_joined`; `welcome` (a fresh signaling
 * connection) drops every link, because the server re-announces the viewers and they expect new offers.
 */
export class Broadcaster {
  private readonly viewers = new Map<string, ViewerLink>();

  constructor(
    private readonly stream: MediaStream,
    private readonly iceServers: RTCIceServer[],
    private readonly send: (command: SignalCommand) => boolean,
    private readonly onPeersChanged: (states: PeerStates) => void = () => {},
  ) {}

  handle(event: SignalEvent): void {
    switch (event.type) {
      case 'welcome':
        this.closeAll();
        break;
      case 'peer_joined':
        this.offerTo(event.peer_id, 0);
        break;
      case 'peer_left':
      case 'bye':
        this.drop('peer_id' in event ? event.peer_id : event.from);
        break;
      case 'answer': {
        const sdp = sdpText(event.sdp);
        this.step(event.from, (c) => c.setRemoteDescription({ type: 'answer', sdp }));
        break;
      }
      case 'candidate': {
        const candidate = event.candidate;
        if (candidate) this.step(event.from, (c) => c.addIceCandidate(candidate));
        break;
      }
      default:
        break;
    }
  }

  /** Closes every viewer link and tells the viewers. */
  stop(): void {
    this.send({ type: 'bye' });
    this.closeAll();
  }

  private offerTo(peerId: string, retries: number): void {
    this.drop(peerId, false);
    const connection = new RTCPeerConnection({ iceServers: this.iceServers });
    const link: ViewerLink = { connection, steps: Promise.resolve(), retries };
    this.viewers.set(peerId, link);
    for (const track of this.stream.getTracks()) connection.addTrack(track, this.stream);
    connection.onicecandidate = (event) => {
      if (event.candidate) this.send({ type: 'candidate', to: peerId, candidate: event.candidate.toJSON() });
    };
    connection.onconnectionstatechange = () => {
      if (this.viewers.get(peerId) !== link) return;
      this.reportStates();
      // A failed path (network change, NAT timeout) gets a fresh offer a few times.
      if (connection.connectionState === 'failed' && link.retries < MAX_RETRIES_PER_VIEWER) {
        setTimeout(() => {
          if (this.viewers.get(peerId) === link) this.offerTo(peerId, link.retries + 1);
        }, 1000);
      }
    };
    this.step(peerId, async (c) => {
      const offer = await c.createOffer();
      await c.setLocalDescription(offer);
      this.send({ type: 'offer', to: peerId, sdp: c.localDescription?.sdp ?? offer.sdp ?? '' });
    });
    this.reportStates();
  }

  private step(peerId: string, action: (connection: RTCPeerConnection) => Promise<void>): void {
    const link = this.viewers.get(peerId);
    if (!link) return;
    link.steps = link.steps
      .then(() => (this.viewers.get(peerId) === link ? action(link.connection) : undefined))
      .catch((error: unknown) => console.warn(`signaling with viewer ${peerId} failed`, error));
  }

  private drop(peerId: string, report = true): void {
    const link = this.viewers.get(peerId);
    if (!link) return;
    this.viewers.delete(peerId);
    link.connection.close();
    if (report) this.reportStates();
  }

  private closeAll(): void {
    for (const link of this.viewers.values()) link.connection.close();
    this.viewers.clear();
    this.reportStates();
  }

  private reportStates(): void {
    this.onPeersChanged(
      new Map([...this.viewers].map(([id, link]) => [id, link.connection.connectionState])),
    );
  }
}
