import { THUMBNAIL_EVERY_S, THUMBNAIL_WIDTH } from '../../../src/contract/media.js';
import type { ApiClient } from './api.js';

/** JPEG quality of the pictures sent: small (~20 KB at 480 px) and clear enough for a card. */
const QUALITY = 0.75;
/** The first picture once the preview has frames, then one every THUMBNAIL_EVERY_S. */
const FIRST_AFTER_MS = 1_000;

/**
 * While the studio is live, sends a frame of its preview as the stream's thumbnail (what the
 * lobby shows), every THUMBNAIL_EVERY_S seconds: the server takes pictures of what it ingests
 * (RTMP), but video from the browser goes to Janus or the viewers directly. Skips while the
 * camera is off or the preview has no frame; a refused send is tried again at the next tick.
 */
export class ThumbnailSender {
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #canvas = document.createElement('canvas');

  constructor(
    private readonly api: ApiClient,
    private readonly sessionId: string,
    private readonly preview: HTMLVideoElement,
    private readonly cameraOn: () => boolean,
  ) {
    this.#timer = setTimeout(() => void this.#tick(), FIRST_AFTER_MS);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    try {
      const jpeg = this.cameraOn() ? await this.#snapshot() : null;
      if (jpeg && this.#timer !== undefined) await this.api.putThumbnail(this.sessionId, jpeg);
    } catch {
      // The next tick tries again; a lobby picture is not worth a message to the vendor.
    }
    if (this.#timer !== undefined)
      this.#timer = setTimeout(() => void this.#tick(), THUMBNAIL_EVERY_S * 1000);
  }

  #snapshot(): Promise<Blob | null> {
    const { videoWidth, videoHeight } = this.preview;
    if (!videoWidth || !videoHeight) return Promise.resolve(null);
    this.#canvas.width = THUMBNAIL_WIDTH;
    this.#canvas.height = Math.round((THUMBNAIL_WIDTH * videoHeight) / videoWidth);
    // The preview is mirrored by CSS only: the picture is drawn as viewers see the video.
    this.#canvas.getContext('2d')?.drawImage(this.preview, 0, 0, this.#canvas.width, this.#canvas.height);
    return new Promise((resolve) => this.#canvas.toBlob(resolve, 'image/jpeg', QUALITY));
  }
}
