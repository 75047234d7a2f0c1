/**
 * One Agora RTC call: join a channel, publish camera and microphone, mute them, and play remote
 * users at an adjustable volume. The SDK is loaded only when someone joins: it is large, and
 * the rest of the page works without it.
 */
import type {
  IAgoraRTCClient,
  IAgoraRTCRemoteUser,
  ICameraVideoTrack,
  IMicrophoneAudioTrack,
} from 'agora-rtc-sdk-ng/esm';

/** How the page shows remote users as they come and go. */
export interface RemoteView {
  /** A remote user published video: return the element to play it in. */
  videoElement(uid: string): HTMLElement;
  /** A remote user left the channel. */
  removed(uid: string): void;
}

export interface JoinOptions {
  appId: string;
  channel: string;
  token: string;
  uid: number;
  publisher: boolean;
  /** Give up on Agora's servers after this long. */
  timeoutMs: number;
}

/** Why joining failed, in words a user can act on. */
export class JoinError extends Error {
  override name = 'JoinError';
}

/**
 * The Agora Web SDK's ESM build. Its default entry is a UMD bundle whose types claim a default
 * export, which TypeScript's NodeNext resolution cannot reconcile; the ESM build is typed right.
 */
export type AgoraSdk = typeof import('agora-rtc-sdk-ng/esm');

/** Loads the Agora Web SDK, quietly: no log upload to Agora, warnings and errors only. */
export async function loadAgora(): Promise<AgoraSdk> {
  const sdk = await import('agora-rtc-sdk-ng/esm');
  sdk.disableLogUpload();
  sdk.setLogLevel(2);
  return sdk;
}

/** A live call in one channel. Create with `AgoraCall.start`; end with `leave`. */
export class AgoraCall {
  /** Remote audio plays at this volume (0–100; 100 is as sent). */
  #volume = 100;

  private constructor(
    private readonly client: IAgoraRTCClient,
    readonly microphone: IMicrophoneAudioTrack | undefined,
    readonly camera: ICameraVideoTrack | undefined,
    private readonly view: RemoteView,
  ) {}

  /**
   * Opens camera and microphone for a publisher (played in `localVideo` at once, so the user
   * sees them even if Agora cannot be reached), then joins and publishes.
   * `onTracks` is called as soon as local tracks exist, before the network is involved.
   */
  static async start(
    sdk: AgoraSdk,
    options: JoinOptions,
    localVideo: HTMLElement,
    view: RemoteView,
    onTracks: (call: AgoraCall) => void,
  ): Promise<AgoraCall> {
    const client = sdk.createClient({ mode: 'live', codec: 'vp8' });
    await client.setClientRole(options.publisher ? 'host' : 'audience');
    let microphone: IMicrophoneAudioTrack | undefined;
    let camera: ICameraVideoTrack | undefined;
    if (options.publisher) {
      [microphone, camera] = await sdk.createMicrophoneAndCameraTracks();
      camera.play(localVideo);
    }
    const call = new AgoraCall(client, microphone, camera, view);
    client.on('user-published', (user, mediaType) => void call.#subscribe(user, mediaType));
    client.on('user-left', (user) => view.removed(String(user.uid)));
    onTracks(call);

    try {
      await withTimeout(
        client.join(options.appId, options.channel, options.token, options.uid),
        options.timeoutMs,
      );
    } catch (error) {
      void client.leave().catch(() => undefined);
      throw new JoinError(explainJoinFailure(error, options.timeoutMs));
    }
    const tracks = [microphone, camera].filter((t) => t !== undefined);
    if (tracks.length) await client.publish(tracks);
    return call;
  }

  /** Sets the volume of every remote user, now and for those who join later. */
  setRemoteVolume(volume: number): void {
    this.#volume = volume;
    for (const user of this.client.remoteUsers) user.audioTrack?.setVolume(volume);
  }

  /** Leaves the channel and releases camera and microphone. */
  async leave(): Promise<void> {
    this.microphone?.close();
    this.camera?.close();
    for (const user of this.client.remoteUsers) this.view.removed(String(user.uid));
    await this.client.leave();
  }

  async #subscribe(user: IAgoraRTCRemoteUser, mediaType: 'audio' | 'video' | 'datachannel'): Promise<void> {
    if (mediaType === 'datachannel') return;
    await this.client.subscribe(user, mediaType);
    if (mediaType === 'video') user.videoTrack?.play(this.view.videoElement(String(user.uid)));
    if (mediaType === 'audio') {
      user.audioTrack?.setVolume(this.#volume);
      user.audioTrack?.play();
    }
  }
}

/** Rejects with a timeout error if `promise` has not settled after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

class TimeoutError extends Error {}

/** Agora's error codes that mean its servers were not reached. */
const UNREACHABLE = new Set([
  'CAN_NOT_GET_GATEWAY_SERVER',
  'NETWORK_ERROR',
  'NETWORK_TIMEOUT',
  'WS_ABORT',
  'WS_ERR',
]);

function explainJoinFailure(error: unknown, timeoutMs: number): string {
  const code = (error as { code?: string } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof TimeoutError || (code && UNREACHABLE.has(code))) {
    const why = error instanceof TimeoutError ? `no answer within ${timeoutMs / 1000} s` : message;
    return (
      `Agora's servers could not be reached (${why}). This machine may be offline or a firewall may ` +
      `block Agora; the tokens are fine. Streammeon's built-in WebRTC relay works without Agora.`
    );
  }
  return `Agora refused to join: ${message}`;
}
