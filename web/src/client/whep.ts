import type { ApiClient } from './api.js';
import { ApiError } from './errors.js';
import { gatheringComplete } from './sdp.js';
import type { MediaState } from './types.js';

/**
 * What a viewer sees of the host's video in SFU mode: `connecting`, `playing`, `waiting` (nobody
 * publishes yet), `reconnecting` (the host's stream went away; it comes back by itself), `stopped`
 * (the host stopped the video), `failed` (gave up; a reload tries again).
 */
export type PlayerState = 'connecting' | 'playing' | 'waiting' | 'reconnecting' | 'stopped' | 'failed';

export interface WhepPlayerOptions {
  api: ApiClient;
  sessionId: string;
  /** ICE servers for each new connection (fresh TURN credentials each time). */
  iceServers: () => Promise<RTCIceServer[]>;
  /** The host's audio and video, or null when there is none to show. */
  onStream: (stream: MediaStream | null) => void;
  onState: (state: PlayerState) => void;
}

/** One subscription: its connection and WHEP resource once made. */
interface Subscription {
  connection: RTCPeerConnection | null;
  resource: string | null;
  /** Replaced or stopped: whatever it still has in flight is thrown away. */
  over: boolean;
  /** Its connection failed: a repeated `live` must not keep it. */
  failed: boolean;
}

/** A failed subscription is tried again after a second, this many times in a row at most. */
const MAX_RETRIES = 5;
const RETRY_MS = 1000;

/**
 * The host's video from the media server over WHEP (SFU mode), with the counter-offer Janus needs:
 * the player POSTs a recvonly offer of its own (only to say what it can receive; it is thrown
 * away), the server answers 406 with the media server's offer and the resource's Location, and
 * the player answers that offer on a fresh connection, with every ICE candidate in the answer
 * (no trickle), by PATCHing it to the resource.
 *
 * `/ws/live`'s `media` events drive it ({@link onMedia}): `live` subscribes again (the old
 * subscription fed from a publisher that is gone), `reconnecting` keeps the last picture under an
 * overlay and waits, `stopped` closes the connection. A connection that fails while the host is
 * live is retried after a second, a few times.
 */
export class WhepPlayer {
  private subscription: Subscription | null = null;
  /** The last `media` state heard on the socket; null before the first. */
  private media: MediaState | null = null;
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: WhepPlayerOptions) {}

  /** Subscribes (again, dropping any earlier subscription). */
  play(): void {
    this.cancelRetry();
    this.release(this.drop());
    this.options.onState('connecting');
    void this.subscribe();
  }

  /** A `media` event from `/ws/live` (one comes on every connect, then one per change). */
  onMedia(state: MediaState): void {
    const previous = this.media;
    this.media = state;
    if (state === 'live') {
      // A reconnected socket repeats `live`, and the first one may find us subscribed on load
      // already: a subscription that has not failed is kept.
      const healthy = this.subscription !== null && !this.subscription.failed;
      if (previous !== 'reconnecting' && previous !== 'stopped' && healthy) return;
      this.retries = 0;
      this.play();
    } else if (state === 'reconnecting') {
      this.cancelRetry();
      this.options.onState('reconnecting');
    } else {
      this.cancelRetry();
      this.release(this.drop());
      this.options.onState('stopped');
    }
  }

  /** Stops for good: closes the connection and deletes the WHEP resource (best effort). */
  async stop(): Promise<void> {
    this.cancelRetry();
    const resource = this.drop();
    if (resource) await this.options.api.deleteMediaResource(resource).catch(() => undefined);
  }

  private async subscribe(): Promise<void> {
    const subscription: Subscription = { connection: null, resource: null, over: false, failed: false };
    this.subscription = subscription;
    const { api, sessionId } = this.options;
    try {
      const iceServers = await this.options.iceServers();
      if (subscription.over) return;
      const exchange = await api.whepOffer(sessionId, await recvonlyOffer());
      subscription.resource = exchange.resource;
      if (subscription.over) return this.release(exchange.resource);

      const connection = new RTCPeerConnection({ iceServers });
      subscription.connection = connection;
      const stream = new MediaStream();
      connection.ontrack = (event) => stream.addTrack(event.track);
      connection.onconnectionstatechange = () => this.watch(subscription, connection);
      await connection.setRemoteDescription({ type: 'offer', sdp: exchange.sdp });
      await connection.setLocalDescription(await connection.createAnswer());
      await gatheringComplete(connection);
      const answer = connection.localDescription?.sdp;
      if (subscription.over || !answer) return;
      await api.whepAnswer(exchange.resource, answer);
      // Every track arrived with the offer; the picture starts once ICE connects.
      if (!subscription.over) this.options.onStream(stream);
    } catch (error) {
      if (subscription.over) return;
      if (error instanceof ApiError && error.status === 409) {
        // Nobody publishes yet: the socket's next `live` subscribes.
        this.release(this.drop());
        this.options.onState('waiting');
      } else if (error instanceof ApiError && [401, 403, 404].includes(error.status)) {
        this.release(this.drop());
        this.options.onState('failed');
      } else {
        console.warn('subscribing to the media server failed', error);
        this.failed(subscription);
      }
    }
  }

  private watch(subscription: Subscription, connection: RTCPeerConnection): void {
    if (this.subscription !== subscription) return;
    if (connection.connectionState === 'connected') {
      this.retries = 0;
      this.options.onState('playing');
    } else if (connection.connectionState === 'failed') {
      this.failed(subscription);
    }
  }

  /** A subscription failed: retried while the host is live, else the next `live` event does it. */
  private failed(subscription: Subscription): void {
    subscription.failed = true;
    if (this.media === 'reconnecting' || this.media === 'stopped' || this.retryTimer) return;
    if (this.retries >= MAX_RETRIES) {
      this.release(this.drop());
      this.options.onState('failed');
      return;
    }
    this.retries += 1;
    this.options.onState('connecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.play();
    }, RETRY_MS);
  }

  /** Ends the current subscription and clears the picture; returns its resource to delete. */
  private drop(): string | null {
    const subscription = this.subscription;
    if (!subscription) return null;
    subscription.over = true;
    subscription.connection?.close();
    this.subscription = null;
    this.options.onStream(null);
    return subscription.resource;
  }

  /** Deletes a WHEP resource nobody uses any more; best effort (the server reaps it anyway). */
  private release(resource: string | null): void {
    if (resource) void this.options.api.deleteMediaResource(resource).catch(() => undefined);
  }

  private cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

/** What the player can receive, as an offer: recvonly video and audio. Only its SDP is used. */
async function recvonlyOffer(): Promise<string> {
  const probe = new RTCPeerConnection();
  try {
    probe.addTransceiver('video', { direction: 'recvonly' });
    probe.addTransceiver('audio', { direction: 'recvonly' });
    const offer = await probe.createOffer();
    return offer.sdp ?? '';
  } finally {
    probe.close();
  }
}
