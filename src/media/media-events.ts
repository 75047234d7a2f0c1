import type { MediaState } from '../contract/media.js';

/** What the media services tell the realtime layer (wired to /ws/live in features/services.ts). */
export interface MediaEvents {
  /** The session's video changed state; tell its viewers on every instance. */
  mediaState(sessionId: string, state: MediaState): void;
}
