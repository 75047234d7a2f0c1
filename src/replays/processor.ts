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

/** The tools as one job runs them: under its timeout and its abort. */
interface Tools {
  ppRec: string;
  ffmpeg: string;
  ffprobe: string;
  run: Run;
  signal: AbortSignal | undefined;
}

/** A set whose tracks were extracted, each to a plain file, and when it starts (µs). */
interface UsableSet {
  audio: Track | undefined;
  video: Track | undefined;
  start: number;
}

interface Segment {
  file: string;
  duration: number;
  /** µs since the epoch of its start. */
  at: number;
}

/**
 * Processes the `.mjr` files of `rawDir` into one file in `workDir`; undefined when there are
 * none (nobody's media reached the room). Throws UnusableRecording when no track can be read.
 */
export async function processRecording(
  rawDir: string,
  workDir: string,
  options: ProcessOptions = {},
): Promise<ProcessedReplay | undefined> {
  const tools: Tools = {
    ppRec: options.janusPpRec ?? 'janus-pp-rec',
    ffmpeg: options.ffmpeg ?? 'ffmpeg',
    ffprobe: options.ffprobe ?? 'ffprobe',
    run: (file, args) => runTool(file, args, options.timeoutMs ?? 10 * 60_000, options.signal),
    signal: options.signal,
  };
  const names = await recordingFiles(rawDir);
  if (names.length === 0) return undefined;
  const problems: string[] = [];
  const tracks = await readTracks(tools, rawDir, names, problems);
  const { sets, extracted } = await extractTracks(tools, workDir, groupIntoSets(tracks), problems);
  if (sets.length === 0) {
    throw new UnusableRecording(`no playable track in the recording (${problems.join('; ')})`.slice(0, 500));
  }
  const extension: ReplayExtension = sets.some((s) => s.video?.codec === 'h264') ? 'mp4' : 'webm';
  const segments: Segment[] = [];
  for (const [index, set] of sets.entries()) {
    const file = join(workDir, `segment${index}.${extension}`);
    await muxSet(tools, set, extracted, file, {
      extension,
      withAudio: sets.some((s) => s.audio),
      withVideo: sets.some((s) => s.video),
    });
    segments.push({ file, duration: await probeDuration(tools.run, tools.ffprobe, file), at: set.start });
  }
  const final = await concatenate(tools, workDir, segments, extension);
  return {
    file: final,
    extension,
    contentType: CONTENT_TYPES[extension],
    durationSeconds: round(await probeDuration(tools.run, tools.ffprobe, final)),
    timeline: timelineOf(segments),
  };
}

/** The `.mjr` files of a recording, in name order; none when its folder does not exist. */
async function recordingFiles(rawDir: string): Promise<string[]> {
  try {
    return (await readdir(rawDir)).filter((name) => name.endsWith('.mjr')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Each file's header; an empty or unreadable file is left out, with its reason in `problems`. */
async function readTracks(
  tools: Tools,
  rawDir: string,
  names: string[],
  problems: string[],
): Promise<Track[]> {
  const tracks: Track[] = [];
  for (const name of names) {
    const file = join(rawDir, name);
    const size = (await stat(file)).size;
    if (size === 0) {
      problems.push(`${name} is empty`);
      continue;
    }
    const header = await readHeader(tools.run, tools.ppRec, file).catch((error: unknown) => {
      tools.signal?.throwIfAborted();
      problems.push(`${name}: ${describe(error)}`);
      return undefined;
    });
    if (header) tracks.push(header);
  }
  return tracks;
}

/**
 * Each track as a plain file; a track janus-pp-rec cannot read is left out (its reason in
 * `problems`), and a set left with no track goes.
 */
async function extractTracks(
  tools: Tools,
  workDir: string,
  sets: RecordingSet[],
  problems: string[],
): Promise<{ sets: UsableSet[]; extracted: Map<Track, string> }> {
  const extracted = new Map<Track, string>();
  for (const [index, set] of sets.entries()) {
    for (const track of [set.audio, set.video]) {
      if (!track) continue;
      const target = join(workDir, `set${index}-${track.kind}.${plainExtension(track)}`);
      try {
        await tools.run(tools.ppRec, [track.file, target]);
        if ((await stat(target).catch(() => undefined))?.size) extracted.set(track, target);
        else problems.push(`${basename(track.file)}: no media in it`);
      } catch (error) {
        tools.signal?.throwIfAborted();
        problems.push(`${basename(track.file)}: ${describe(error)}`);
      }
    }
  }
  const usable = sets
    .map((set) => ({
      audio: set.audio && extracted.has(set.audio) ? set.audio : undefined,
      video: set.video && extracted.has(set.video) ? set.video : undefined,
    }))
    .filter((set) => set.audio || set.video)
    .map((set) => ({
      ...set,
      start: Math.min(...[set.audio, set.video].flatMap((t) => (t ? [t.firstPacket] : []))),
    }));
  return { sets: usable, extracted };
}

/**
 * Muxes one set into `file` without re-encoding what the container takes, the later-starting
 * track offset by the difference of the first packets' times.
 */
async function muxSet(
  tools: Tools,
  set: UsableSet,
  extracted: Map<Track, string>,
  file: string,
  all: { extension: ReplayExtension; withAudio: boolean; withVideo: boolean },
): Promise<void> {
  const args: string[] = ['-hide_banner', '-nostdin', '-y', '-v', 'error'];
  const maps: string[] = [];
  let input = 0;
  for (const track of [set.audio, set.video]) {
    if (!track) continue;
    args.push('-itsoffset', ((track.firstPacket - set.start) / 1e6).toFixed(6), '-i', extracted.get(track)!);
    maps.push('-map', `${input++}:${track.kind === 'audio' ? 'a' : 'v'}`);
  }
  // A set without a track the others have: silence, or black frames, as long as the set.
  const length = await probeDuration(tools.run, tools.ffprobe, extracted.get((set.video ?? set.audio)!)!);
  if (all.withAudio && !set.audio) {
    args.push('-f', 'lavfi', '-t', length.toFixed(3), '-i', 'anullsrc=r=48000:cl=stereo');
    maps.push('-map', `${input++}:a`);
  }
  if (all.withVideo && !set.video) {
    args.push('-f', 'lavfi', '-t', length.toFixed(3), '-i', 'color=c=black:s=640x480:r=30');
    maps.push('-map', `${input}:v`);
  }
  args.push(...maps);
  if (all.extension === 'webm') {
    args.push('-c:v', set.video ? 'copy' : 'libvpx', '-c:a', set.audio ? 'copy' : 'libopus');
  } else {
    const h264 = set.video?.codec === 'h264';
    args.push(
      '-c:v',
      h264 ? 'copy' : 'libx264',
      ...(h264 ? [] : ['-preset', 'veryfast', '-pix_fmt', 'yuv420p']),
    );
    args.push('-c:a', 'aac', '-b:a', '128k');
  }
  await tools.run(tools.ffmpeg, [...args, '-f', all.extension, file]);
}

/**
 * Concatenates the segments into the replay. One pass for one segment too: it writes the index
 * that makes the file seekable.
 */
async function concatenate(
  tools: Tools,
  workDir: string,
  segments: Segment[],
  extension: ReplayExtension,
): Promise<string> {
  const list = join(workDir, 'segments.txt');
  await writeFile(list, segments.map((s) => `file '${s.file.replace(/'/g, "'\\''")}'\n`).join(''));
  const final = join(workDir, `replay.${extension}`);
  const seekable = extension === 'webm' ? ['-cues_to_front', '1'] : ['-movflags', '+faststart'];
  await tools.run(tools.ffmpeg, [
    ...['-hide_banner', '-nostdin', '-y', '-v', 'error'],
    ...['-f', 'concat', '-safe', '0', '-i', list],
    ...['-map', '0', '-c', 'copy', ...seekable, '-f', extension, final],
  ]);
  return final;
}

/** Where each segment sits in the replay, and when it was streamed. */
function timelineOf(segments: Segment[]): ReplaySegment[] {
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
  return timeline;
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
