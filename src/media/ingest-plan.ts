/**
 * What an encoder's first seconds say about its stream, and so what the ingest does with it:
 * pass H.264 video through untouched when browsers can play it as it is, transcode otherwise.
 *
 * Every browser's WebRTC decoder takes H.264 Constrained Baseline: no B-frames (frames arrive in
 * display order), no CABAC. Main and High are not safe: Firefox decodes with OpenH264 (Constrained
 * Baseline), and Debian's Chromium offers no High profile (64) at all. A viewer also needs a key
 * frame soon after joining. All of it shows in the packets, before any decoding: the profile in
 * the AVC sequence header, a composition time offset (pts ≠ dts) on some frame where B-frames
 * reorder, and the key frame interval between the first two key frames. So the plan waits for the
 * second key frame (or WINDOW_MS of media) and decides, unless the stream shows early that it must
 * be transcoded; audio is always made Opus (WebRTC's codec).
 */

/** The facts of one packet the plan looks at. */
export interface PacketFacts {
  kind: 'video' | 'audio' | 'data';
  /** FLV's codec id: video 7 H.264; audio 10 AAC, 2 MP3, … */
  codec: number;
  keyframe: boolean;
  /** Decoding time, milliseconds. */
  dtsMs: number;
  /** Composition offset (pts − dts), milliseconds: non-zero only where frames are reordered. */
  ctsMs: number;
  /** H.264's profile_idc, on the sequence header (66 Baseline, 77 Main, 100 High, …). */
  profile?: number;
}

/** What the ingest does with a stream. */
export type IngestPlan =
  { video: 'copy' | 'transcode'; audio: boolean; reason: string } | { refused: string };

/** FLV's codec id of H.264 (AVC). */
export const FLV_H264 = 7;
/** H.264's Baseline profile_idc (Constrained Baseline is Baseline with constraint_set1). */
export const H264_BASELINE = 66;
/** The longest key frame interval passed through: a viewer joining waits at most this for a picture. */
export const MAX_PASSTHROUGH_KEY_INTERVAL_MS = 2_000;
/** How much media the plan looks at before deciding without a second key frame. */
export const WINDOW_MS = 3_000;
/** Audio starts this close to video, or there is none (decided early, the plan waits this long). */
const AUDIO_WITHIN_MS = 500;

/** Reads packets until it can decide; then `plan` is set and later packets change nothing. */
export class IngestPlanner {
  plan: IngestPlan | undefined;
  #firstDts: number | undefined;
  #keyframes: number[] = [];
  #videoCodec: number | undefined;
  #profile: number | undefined;
  #reordered = false;
  #audio = false;

  /** Takes one packet; returns the plan once decided (at this packet or earlier). */
  observe(packet: PacketFacts): IngestPlan | undefined {
    if (this.plan) return this.plan;
    if (packet.kind === 'data') return undefined;
    this.#firstDts ??= packet.dtsMs;
    if (packet.kind === 'audio') this.#audio = true;
    else {
      this.#videoCodec ??= packet.codec;
      if (packet.ctsMs !== 0) this.#reordered = true;
      if (packet.profile !== undefined) this.#profile = packet.profile;
      if (packet.keyframe) this.#keyframes.push(packet.dtsMs);
    }
    const elapsed = packet.dtsMs - this.#firstDts;
    // A stream that must be transcoded says so early (its sequence header, its first B-frame):
    // only whether audio comes is still worth waiting for.
    const known = this.#keyframes.length >= 2 || elapsed >= WINDOW_MS;
    const early =
      this.#mustTranscode() && this.#keyframes.length > 0 && (this.#audio || elapsed >= AUDIO_WITHIN_MS);
    if (known || early) this.plan = this.decide();
    return this.plan;
  }

  #mustTranscode(): boolean {
    if (this.#videoCodec === undefined) return false;
    if (this.#videoCodec !== FLV_H264 || this.#reordered) return true;
    return this.#profile !== undefined && this.#profile !== H264_BASELINE;
  }

  /** The plan from what was seen so far (also when the encoder stops sending before the window). */
  decide(): IngestPlan {
    if (this.plan) return this.plan;
    const audio = this.#audio;
    if (this.#videoCodec === undefined || this.#keyframes.length === 0) {
      return { refused: this.#videoCodec === undefined ? 'the stream has no video' : 'no key frame arrived' };
    }
    if (this.#videoCodec !== FLV_H264) {
      return { video: 'transcode', audio, reason: `video codec ${this.#videoCodec} is not H.264` };
    }
    if (this.#reordered) return { video: 'transcode', audio, reason: 'H.264 with B-frames' };
    if (this.#profile !== H264_BASELINE) {
      return {
        video: 'transcode',
        audio,
        reason: `H.264 profile ${this.#profile ?? 'unknown'} is not Baseline`,
      };
    }
    const [first, second] = this.#keyframes;
    if (second === undefined || first === undefined) {
      return { video: 'transcode', audio, reason: `no second key frame within ${WINDOW_MS} ms` };
    }
    if (second - first > MAX_PASSTHROUGH_KEY_INTERVAL_MS) {
      return { video: 'transcode', audio, reason: `key frames every ${second - first} ms` };
    }
    return { video: 'copy', audio, reason: `H.264 Baseline, key frames every ${second - first} ms` };
  }
}
