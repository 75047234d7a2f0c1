import { THUMBNAIL_WIDTH } from '../contract/media.js';
import type { IngestPlan } from './ingest-plan.js';

/**
 * A picture of the stream every this many seconds of media. Each reaches us when the next is
 * taken, so the one shown is at most twice this old (10 s; the API promises 20).
 */
export const PICTURE_EVERY_S = 5;

/** Transcoded video: the widest it gets, and its bitrate cap. */
const MAX_WIDTH = 1280;
const VIDEO_KBPS = 2500;

/**
 * FFmpeg's arguments for one ingest: an FLV stream on stdin (as RTMP carried it) or MPEG-TS (as
 * SRT carries it) becomes, on stdout, MPEG-TS of H.264 video (copied, or x264 Constrained
 * Baseline level 3.1, as WebRTC's 42e01f, with a key frame every second) and Opus audio, for the WebRTC
 * publisher; and, on fd 3, a JPEG every PICTURE_EVERY_S seconds (multipart, `mpjpeg`).
 */
export function ingestFfmpegArgs(
  plan: Extract<IngestPlan, { video: string }>,
  input: 'flv' | 'mpegts',
): string[] {
  const copy = plan.video === 'copy';
  const video = copy
    ? ['-c:v', 'copy']
    : [
        ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency'],
        ...['-profile:v', 'baseline', '-level:v', '3.1', '-pix_fmt', 'yuv420p', '-bf', '0'],
        ...['-force_key_frames', 'expr:gte(t,n_forced*1)', '-sc_threshold', '0'],
        ...['-vf', `scale='min(${MAX_WIDTH},iw)':-2`],
        ...['-b:v', `${VIDEO_KBPS}k`, '-maxrate', `${VIDEO_KBPS}k`, '-bufsize', `${VIDEO_KBPS}k`],
      ];
  const audio = plan.audio
    ? ['-map', '0:a:0', '-c:a', 'libopus', '-b:a', '96k', '-ar', '48000', '-ac', '2']
    : [];
  return [
    ...['-hide_banner', '-nostats', '-loglevel', 'warning'],
    // Copied video is decoded for the thumbnails only, and they need key frames alone.
    ...(copy ? ['-skip_frame', 'nokey'] : []),
    ...['-f', input, '-i', 'pipe:0'],
    ...['-map', '0:v:0', ...video, ...audio],
    ...['-f', 'mpegts', '-muxdelay', '0', '-muxpreload', '0', '-flush_packets', '1', 'pipe:1'],
    // FFmpeg (5.1) hands an encoded picture over only when the next one is selected: the first two
    // frames are taken, so the first picture comes at once, then one every PICTURE_EVERY_S.
    ...[
      '-map',
      '0:v:0',
      '-an',
      '-vf',
      `select='isnan(prev_selected_t)+eq(n,1)+gte(t-prev_selected_t,${PICTURE_EVERY_S})',scale=${THUMBNAIL_WIDTH}:-2`,
    ],
    ...[
      '-fps_mode',
      'passthrough',
      '-c:v',
      'mjpeg',
      '-q:v',
      '5',
      '-pix_fmt',
      'yuv420p',
      '-strict',
      'unofficial',
    ],
    ...['-f', 'mpjpeg', '-flush_packets', '1', 'pipe:3'],
  ];
}
