import type { ApiClient } from './api.js';
import { ApiError } from './errors.js';
import { gatheringComplete } from './sdp.js';

/**
 * What the studio shows of its stream to the media server: `connecting` (first attempt),
 * `live` (the server receives it), `retrying` (lost; publishing again after a pause),
 * `failed` (refused for good: not our session, or it ended), `stopped`.
 */
export type PublishState = 'connecting' | 'live' | 'retrying' | 'failed' | 'stopped';

export interface WhipPublisherOptions {
  api: ApiClient;
  sessionId: string;
  /** ICE servers for each new connection (fresh TURN credentials each time). */
  iceServers: () => Promise<RTCIceServer[]>;
  onState: (state: PublishState, error?: unknown) => void;
}

/** One try at publishing: its connection and, once the server made it, its WHIP resource. */
interface Attempt {
  connection: RTCPeerConnection | null;
  resource: string | null;
  /** Replaced or stopped: whatever it still has in flight is thrown away. */
  over: boolean;
}

/** Republishing waits 1 s, 2 s, 4 s, then 5 s between tries, for as long as the session is live. */
const BACKOFF_MS = [1000, 2000, 4000, 5000];
/** A connection `disconnected` this long is given up on: ICE rarely recovers after that. */
const DISCONNECTED_GRACE_MS = 3000;

/**
 * The vendor's camera to the media server over WHIP (SFU mode): one sendonly RTCPeerConnection,
 * its complete offer POSTed once ICE gathering is done (no trickle), the answer applied.
 *
 * The stream must survive the media server and the network: a connection that fails (or stays
 * disconnected for 3 s), or the server saying on `/ws/live` that it lost our stream
 * ({@link serverLost}), starts a fresh connection with backoff, without limit until {@link stop}.
 * Refusals that another try cannot fix (403 not ours, 404, 409 ended, 401) end it as `failed`.
 */
export class WhipPublisher {
  private attempt: Attempt | null = null;
  private stream: MediaStream | null = null;
  /** Tries since the stream last reached the server, for the backoff. */
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private disconnectTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: WhipPublisherOptions) {}

  /** Starts publishing `stream` (again, on a fresh connection, if it already was). */
  publish(stream: MediaStream): void {
    this.stream = stream;
    this.failures = 0;
    this.options.onState('connecting');
    void this.run();
  }

  /**
   * The server lost our stream (`media: reconnecting` while we publish, say its Janus died): a
   * connection that looks fine to us carries nothing, so publish again. While a try is still
   * connecting the state is older news (e.g. the one a reconnecting socket opens with): ignore it.
   */
  serverLost(): void {
    if (this.attempt?.connection?.connectionState === 'connected') this.retry();
  }

  /** Stops for good: closes the connection and deletes the WHIP resource (best effort). */
  async stop(): Promise<void> {
    this.stream = null;
    this.clearTimers();
    const resource = this.drop();
    this.options.onState('stopped');
    if (resource) await this.options.api.deleteMediaResource(resource).catch(() => undefined);
  }

  private async run(): Promise<void> {
    const stream = this.stream;
    if (!stream) return;
    this.clearTimers();
    const previous = this.drop();
    // The server replaces our earlier publisher anyway; deleting it just frees it sooner.
    if (previous) void this.options.api.deleteMediaResource(previous).catch(() => undefined);
    const attempt: Attempt = { connection: null, resource: null, over: false };
    this.attempt = attempt;
    try {
      const iceServers = await this.options.iceServers();
      if (attempt.over) return;
      const connection = new RTCPeerConnection({ iceServers });
      attempt.connection = connection;
      connection.onconnectionstatechange = () => this.watch(attempt, connection);
      for (const track of stream.getTracks()) {
        connection.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      }
      await connection.setLocalDescription(await connection.createOffer());
      await gatheringComplete(connection);
      const offer = connection.localDescription?.sdp;
      if (attempt.over || !offer) return;
      const { resource, sdp } = await this.options.api.whipPublish(this.options.sessionId, offer);
      attempt.resource = resource;
      if (attempt.over) {
        void this.options.api.deleteMediaResource(resource).catch(() => undefined);
        return;
      }
      await connection.setRemoteDescription({ type: 'answer', sdp });
    } catch (error) {
      if (attempt.over) return;
      if (error instanceof ApiError && [401, 403, 404, 409].includes(error.status)) {
        this.drop();
        this.options.onState('failed', error);
        return;
      }
      console.warn('publishing to the media server failed', error);
      this.retry();
    }
  }

  private watch(attempt: Attempt, connection: RTCPeerConnection): void {
    if (this.attempt !== attempt) return;
    const state = connection.connectionState;
    if (state === 'connected') {
      this.failures = 0;
      if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
      this.disconnectTimer = null;
      this.options.onState('live');
    } else if (state === 'failed') {
      this.retry();
    } else if (state === 'disconnected' && !this.disconnectTimer) {
      this.disconnectTimer = setTimeout(() => {
        this.disconnectTimer = null;
        if (this.attempt === attempt && connection.connectionState !== 'connected') this.retry();
      }, DISCONNECTED_GRACE_MS);
    }
  }

  /** Publishes again on a fresh connection after the backoff; one retry pending at a time. */
  private retry(): void {
    if (!this.stream || this.retryTimer) return;
    const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)] ?? 5000;
    this.failures += 1;
    this.options.onState('retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.run();
    }, delay);
  }

  /** Ends the current attempt; returns its WHIP resource, for the caller to delete. */
  private drop(): string | null {
    const attempt = this.attempt;
    if (!attempt) return null;
    attempt.over = true;
    attempt.connection?.close();
    this.attempt = null;
    return attempt.resource;
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
    this.retryTimer = null;
    this.disconnectTimer = null;
  }
}
