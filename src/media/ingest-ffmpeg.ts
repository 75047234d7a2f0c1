import { THUMBNAIL_EVERY_S, THUMBNAIL_WIDTH } from '../contract/media.js';
import type { IngestPlan } from './ingest-plan.js';

/** Transcoded video: the widest it gets, and its bitrate cap. */
const MAX_WIDTH = 1280;
const VIDEO_KBPS = 2500;

/**
 * FFmpeg's arguments for one ingest: an FLV stream on stdin (as RTMP carried it) or MPEG-TS (as
 * SRT carries it) becomes, on stdout, MPEG-TS of H.264 video (copied, or x264 Constrained
 * Baseline level 3.1, as WebRTC's 42e01f, with a key frame every second) and Opus audio, for the WebRTC
 * publisher; and, on fd 3, a JPEG every THUMBNAIL_EVERY_S seconds (multipart, `mpjpeg`).
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
    // The first frame at once, then one every THUMBNAIL_EVERY_S seconds.
    ...[
      '-map',
      '0:v:0',
      '-an',
      '-vf',
      `select='isnan(prev_selected_t)+gte(t-prev_selected_t,${THUMBNAIL_EVERY_S})',scale=${THUMBNAIL_WIDTH}:-2`,
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
