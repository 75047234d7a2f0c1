import { execFile } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ReplaySegment } from '../contract/replays.js';
import { CONTENT_TYPES, type ReplayExtension } from './storage.js';

/**
 * Turns what Janus recorded for a session (one `.mjr` per track per publisher, in one folder)
 * into one file a browser plays, with audio and video in sync:
 *
 * 1. `janus-pp-rec --json` reads each file's header: its kind, codec, and `u`, the wall-clock
 *    time (µs) of its first packet. Files are grouped into sets, one per publisher (a publisher
 *    that reconnected has several), in time order.
 * 2. `janus-pp-rec` turns each track into a plain file (VP8 → WebM, H.264 → MP4, Opus → Ogg).
 * 3. `ffmpeg` muxes each set, the later-starting track offset by the difference of the first
 *    packets' times (`-itsoffset`), without re-encoding: VP8 + Opus stay WebM; with H.264 the
 *    result is MP4 and Opus becomes AAC (browsers play Opus in MP4 unevenly). A set lacking a
 *    track the others have gets silence or black frames, so the sets concatenate.
 * 4. `ffmpeg` concatenates the sets (`-c copy`) into a seekable file: WebM with its cues at the
 *    front, MP4 with `+faststart`.
 *
 * The tools run with `execFile` (no shell) and a timeout; everything is written into `workDir`.
 */

/** The recording cannot be made into a replay, and trying again will not help. */
export class UnusableRecording extends Error {
  override name = 'UnusableRecording';
}

export interface ProcessedReplay {
  /** The finished file, inside `workDir`. */
  file: string;
  extension: ReplayExtension;
  contentType: string;
  durationSeconds: number;
  timeline: ReplaySegment[];
}

export interface ProcessOptions {
  signal?: AbortSignal;
  /** Each tool run is killed after this long. */
  timeoutMs?: number;
  janusPpRec?: string;
  ffmpeg?: string;
  ffprobe?: string;
}

interface Track {
  file: string;
  kind: 'audio' | 'video';
  codec: string;
  /** µs since the epoch of the first packet. */
  firstPacket: number;
  /** µs since the epoch the file was created. */
  created: number;
}

interface RecordingSet {
  /** The publisher: `videoroom-<room>-user-<feed>`, or the file name when Janus did not name it. */
  publisher: string;
  audio: Track | undefined;
  video: Track | undefined;
  /** µs since the epoch of its earliest first packet. */
  start: number;
}

const JANUS_NAME = /^(videoroom-\d+-user-\d+)-\d+-(?:audio|video|data)(?:-\d+)?\.mjr$/;

/**
 * Processes the `.mjr` files of `rawDir` into one file in `workDir`; undefined when there are
 * none (nobody's media reached the room). Throws UnusableRecording when no track can be read.
 */
export async function processRecording(
  rawDir: string,
  workDir: string,
  options: ProcessOptions = {},
): Promise<ProcessedReplay | undefined> {
  const tools = {
    ppRec: options.janusPpRec ?? 'janus-pp-rec',
    ffmpeg: options.ffmpeg ?? 'ffmpeg',
    ffprobe: options.ffprobe ?? 'ffprobe',
  };
  const run = (file: string, args: string[]) =>
    runTool(file, args, options.timeoutMs ?? 10 * 60_000, options.signal);

  let names: string[];
  try {
    names = (await readdir(rawDir)).filter((name) => name.endsWith('.mjr')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (names.length === 0) return undefined;

  const problems: string[] = [];
  const tracks: Track[] = [];
  for (const name of names) {
    const file = join(rawDir, name);
    const size = (await stat(file)).size;
    if (size === 0) {
      problems.push(`${name} is empty`);
      continue;
    }
    const header = await readHeader(run, tools.ppRec, file).catch((error: unknown) => {
      options.signal?.throwIfAborted();
      problems.push(`${name}: ${describe(error)}`);
      return undefined;
    });
    if (header) tracks.push(header);
  }

  const sets = groupIntoSets(tracks);
  // Each track as a plain file; a track janus-pp-rec cannot read is left out.
  const extracted = new Map<Track, string>();
  for (const [index, set] of sets.entries()) {
    for (const track of [set.audio, set.video]) {
      if (!track) continue;
      const target = join(workDir, `set${index}-${track.kind}.${plainExtension(track)}`);
      try {
        await run(tools.ppRec, [track.file, target]);
        if ((await stat(target).catch(() => undefined))?.size) extracted.set(track, target);
        else problems.push(`${basename(track.file)}: no media in it`);
      } catch (error) {
        options.signal?.throwIfAborted();
        problems.push(`${basename(track.file)}: ${describe(error)}`);
      }
    }
  }
  const usable = sets
    .map((set) => ({
      ...set,
      audio: set.audio && extracted.has(set.audio) ? set.audio : undefined,
      video: set.video && extracted.has(set.video) ? set.video : undefined,
    }))
    .filter((set) => set.audio || set.video)
    .map((set) => ({
      ...set,
      start: Math.min(...[set.audio, set.video].flatMap((t) => (t ? [t.firstPacket] : []))),
    }));
  if (usable.length === 0) {
    throw new UnusableRecording(`no playable track in the recording (${problems.join('; ')})`.slice(0, 500));
  }

  const extension: ReplayExtension = usable.some((s) => s.video?.codec === 'h264') ? 'mp4' : 'webm';
  const withAudio = usable.some((s) => s.audio);
  const withVideo = usable.some((s) => s.video);
  const segments: { file: string; duration: number; at: number }[] = [];
  for (const [index, set] of usable.entries()) {
    const file = join(workDir, `segment${index}.${extension}`);
    const args: string[] = ['-hide_banner', '-nostdin', '-y', '-v', 'error'];
    const maps: string[] = [];
    let input = 0;
    for (const track of [set.audio, set.video]) {
      if (!track) continue;
      args.push(
        '-itsoffset',
        ((track.firstPacket - set.start) / 1e6).toFixed(6),
        '-i',
        extracted.get(track)!,
      );
      maps.push('-map', `${input++}:${track.kind === 'audio' ? 'a' : 'v'}`);
    }
    // A set without a track the others have: silence, or black frames, as long as the set.
    const length = await probeDuration(run, tools.ffprobe, extracted.get((set.video ?? set.audio)!)!);
    if (withAudio && !set.audio) {
      args.push('-f', 'lavfi', '-t', length.toFixed(3), '-i', 'anullsrc=r=48000:cl=stereo');
      maps.push('-map', `${input++}:a`);
    }
    if (withVideo && !set.video) {
      args.push('-f', 'lavfi', '-t', length.toFixed(3), '-i', 'color=c=black:s=640x480:r=30');
      maps.push('-map', `${input}:v`);
    }
    args.push(...maps);
    if (extension === 'webm') {
      args.push('-c:v', set.video ? 'copy' : 'libvpx', '-c:a', set.audio ? 'copy' : 'libopus');
    } else {
      args.push(
        '-c:v',
        set.video?.codec === 'h264' ? 'copy' : 'libx264',
        ...(set.video?.codec === 'h264' ? [] : ['-preset', 'veryfast', '-pix_fmt', 'yuv420p']),
        '-c:a',
        'aac',
        '-b:a',
        '128k',
      );
    }
    args.push('-f', extension, file);
    await run(tools.ffmpeg, args);
    segments.push({ file, duration: await probeDuration(run, tools.ffprobe, file), at: set.start });
  }

  // One pass for one segment too: it writes the index that makes the file seekable.
  const list = join(workDir, 'segments.txt');
  await writeFile(list, segments.map((s) => `file '${s.file.replace(/'/g, "'\\''")}'\n`).join(''));
  const final = join(workDir, `replay.${extension}`);
  await run(tools.ffmpeg, [
    '-hide_banner',
    '-nostdin',
    '-y',
    '-v',
    'error',
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    list,
    '-map',
    '0',
    '-c',
    'copy',
    ...(extension === 'webm' ? ['-cues_to_front', '1'] : ['-movflags', '+faststart']),
    '-f',
    extension,
    final,
  ]);

  const timeline: ReplaySegment[] = [];
  let offset = 0;
  for (const segment of segments) {
    timeline.push({
      at: new Date(segment.at / 1000).toISOString(),
      offset_seconds: round(offset),
      duration_seconds: round(segment.duration),
    });
    offset += segment.duration;
  }
  return {
    file: final,
    extension,
    contentType: CONTENT_TYPES[extension],
    durationSeconds: round(await probeDuration(run, tools.ffprobe, final)),
    timeline,
  };
}

type Run = (file: string, args: string[]) => Promise<string>;

/** A track's header (`janus-pp-rec --json`), or a thrown reason why the file is not one. */
async function readHeader(run: Run, ppRec: string, file: string): Promise<Track | undefined> {
  const output = await run(ppRec, ['--json', file]);
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .findLast((l) => l.startsWith('{'));
  if (!line) throw new Error('not a Janus recording (no header)');
  let header: { t?: unknown; c?: unknown; s?: unknown; u?: unknown };
  try {
    header = JSON.parse(line) as typeof header;
  } catch {
    throw new Error('not a Janus recording (bad header)');
  }
  if (header.t === 'd') return undefined; // data channels are not replayed
  if ((header.t !== 'a' && header.t !== 'v') || typeof header.c !== 'string') {
    throw new Error('not an audio or video recording');
  }
  const created = Number(header.s);
  const firstPacket = Number(header.u) || created;
  if (!Number.isFinite(firstPacket) || firstPacket <= 0) throw new Error('no start time in its header');
  return {
    file,
    kind: header.t === 'a' ? 'audio' : 'video',
    codec: header.c.toLowerCase(),
    firstPacket,
    created: Number.isFinite(created) ? created : firstPacket,
  };
}

/**
 * Tracks into sets, one per publisher and recording, in time order: a publisher's n-th audio
 * track goes with its n-th video track.
 */
function groupIntoSets(tracks: Track[]): RecordingSet[] {
  const byPublisher = new Map<string, Track[]>();
  for (const track of tracks) {
    const name = basename(track.file);
    const publisher = JANUS_NAME.exec(name)?.[1] ?? name;
    byPublisher.set(publisher, [...(byPublisher.get(publisher) ?? []), track]);
  }
  const sets: RecordingSet[] = [];
  for (const [publisher, own] of byPublisher) {
    const audio = own.filter((t) => t.kind === 'audio').sort((a, b) => a.created - b.created);
    const video = own.filter((t) => t.kind === 'video').sort((a, b) => a.created - b.created);
    for (let i = 0; i < Math.max(audio.length, video.length); i++) {
      const pair = { audio: audio[i], video: video[i] };
      const start = Math.min(...[pair.audio, pair.video].flatMap((t) => (t ? [t.firstPacket] : [])));
      sets.push({ publisher, ...pair, start });
    }
  }
  return sets.sort((a, b) => a.start - b.start);
}

/** What janus-pp-rec makes of a track, by codec. */
function plainExtension(track: Track): string {
  if (track.kind === 'audio') return track.codec === 'opus' ? 'opus' : 'wav';
  return track.codec === 'h264' || track.codec === 'av1' || track.codec === 'h265' ? 'mp4' : 'webm';
}

async function probeDuration(run: Run, ffprobe: string, file: string): Promise<number> {
  const output = await run(ffprobe, [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'default=noprint_wrappers=1:nokey=1',
    file,
  ]);
  const seconds = Number(output.trim());
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new UnusableRecording(`no duration in ${basename(file)}`);
  return seconds;
}

/** Runs a tool (no shell); resolves with its stdout, rejects with the tail of its stderr. */
function runTool(file: string, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, signal, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const why = error.killed && !signal?.aborted ? `timed out after ${timeoutMs} ms` : error.message;
        // Janus's tools color their log lines; keep the words.
        const tail = stderr
          .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '')
          .trim()
          .split('\n')
          .slice(-3)
          .join(' / ');
        reject(new Error(`${basename(file)} failed: ${tail || why}`.slice(0, 400), { cause: error }));
      },
    );
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
