import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ingestFfmpegArgs } from './ingest-ffmpeg.js';
import type { IngestPlan } from './ingest-plan.js';
import { MpjpegReader } from './mpjpeg-reader.js';
import { WEBRTC_PUBLISHER } from './webrtc-publisher-script.js';

/** Where the two programs are. */
export interface IngestPrograms {
  ffmpeg: string;
  python: string;
}

/** How long the programs get to finish after their input ends before they are killed. */
const STOP_GRACE_MS = 3_000;
/** The WebRTC side has this long to make its offer (GStreamer start, caps, ICE gathering). */
const OFFER_TIMEOUT_MS = 15_000;
/** Input waiting for FFmpeg beyond this (it stalls, or cannot keep up): the ingest ends. */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;
/** FFmpeg's last words kept for the one log line of a failure. */
const STDERR_TAIL = 600;

/**
 * One ingest's processes: FFmpeg (what the encoder sent → H.264 + Opus in MPEG-TS, and JPEG
 * thumbnails) piped into the WebRTC publisher (webrtcbin). The owner feeds `write`, exchanges
 * the SDP (`offer`, `answer`), and hears `ended` once, with why, whichever side stopped first;
 * `stop` ends the input and leaves no process behind.
 */
export class IngestPipeline {
  readonly #ffmpeg: ChildProcess;
  readonly #publisher: ChildProcess;
  readonly #offer: Promise<string>;
  readonly #exited: Promise<void>;
  #ended = false;
  #stderr = '';
  #onEnded: (reason: string) => void = () => {};

  constructor(
    programs: IngestPrograms,
    plan: Extract<IngestPlan, { video: string }>,
    input: 'flv' | 'mpegts',
    onThumbnail: (jpeg: Buffer) => void,
  ) {
    // The publisher first: FFmpeg then writes into its stdin, which this process never reads
    // (a child's stdout handed on to another child could have bytes read here, breaking the TS).
    this.#publisher = spawn(
      programs.python,
      ['-u', '-c', WEBRTC_PUBLISHER, plan.audio ? 'audio' : 'noaudio'],
      {
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      },
    );
    this.#ffmpeg = spawn(programs.ffmpeg, ingestFfmpegArgs(plan, input), {
      stdio: ['pipe', this.#publisher.stdin, 'pipe', 'pipe'],
    });
    // FFmpeg holds the pipe now; this process's end of it closes, so that when FFmpeg exits the
    // publisher reads the end of its input (EOS) and exits by itself.
    this.#publisher.stdin?.destroy();
    const thumbnails = new MpjpegReader(onThumbnail);
    (this.#ffmpeg.stdio[3] as Readable).on('data', (chunk: Buffer) => thumbnails.push(chunk));
    const keepLastWords = (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-STDERR_TAIL);
    };
    this.#ffmpeg.stderr?.on('data', keepLastWords);
    this.#publisher.stderr?.on('data', keepLastWords);
    // A dead reader must not take the server down with EPIPE.
    this.#ffmpeg.stdin?.on('error', () => {});
    (this.#publisher.stdio[3] as Writable).on('error', () => {});
    this.#offer = this.#readMessages();
    this.#exited = Promise.all([exitOf(this.#ffmpeg), exitOf(this.#publisher)]).then(() => {});
    this.#ffmpeg.once('error', (error) => this.#end(`FFmpeg did not start: ${error.message}`));
    this.#publisher.once('error', (error) =>
      this.#end(`the WebRTC publisher did not start: ${error.message}`),
    );
    this.#ffmpeg.once('exit', (code, signal) => this.#end(`FFmpeg exited (${signal ?? code})`));
    this.#publisher.once('exit', (code, signal) =>
      this.#end(code === 0 ? 'the input ended' : `the WebRTC publisher exited (${signal ?? code})`),
    );
  }

  /** The publisher's SDP offer (sendonly, every candidate); rejects if it never comes. */
  offer(): Promise<string> {
    return this.#offer;
  }

  /** Janus's answer to the offer. */
  answer(sdp: string): void {
    (this.#publisher.stdio[3] as Writable).write(`${JSON.stringify({ answer: sdp })}\n`);
  }

  /** The next bytes of the encoder's stream. */
  write(chunk: Buffer): void {
    const stdin = this.#ffmpeg.stdin;
    if (this.#ended || !stdin) return;
    if (stdin.writableLength > MAX_BACKLOG_BYTES) this.#end('FFmpeg does not keep up with the stream');
    else stdin.write(chunk);
  }

  /** Called once, with why, when the pipeline stopped (its input ended, or a process failed). */
  onEnded(listener: (reason: string) => void): void {
    this.#onEnded = listener;
  }

  /** FFmpeg's and GStreamer's last words, for the log line of a failure. */
  get lastWords(): string {
    return this.#stderr.trim().split('\n').slice(-3).join(' | ');
  }

  /** Ends the input and waits for both programs; kills what is still running after the grace. */
  async stop(): Promise<void> {
    this.#end('stopped');
    this.#ffmpeg.stdin?.end();
    const timer = setTimeout(() => {
      this.#ffmpeg.kill('SIGKILL');
      this.#publisher.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await this.#exited;
    clearTimeout(timer);
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnded(reason);
    // One side gone: the other follows (FFmpeg at the end of its input, GStreamer at EOS).
    this.#ffmpeg.stdin?.end();
    if (this.#ffmpeg.exitCode !== null) this.#publisher.kill('SIGTERM');
  }

  async #readMessages(): Promise<string> {
    const lines = createInterface({ input: this.#publisher.stdout as Readable });
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the WebRTC publisher made no offer')),
        OFFER_TIMEOUT_MS,
      );
      this.#publisher.once('exit', () => reject(new Error(`the WebRTC publisher exited: ${this.lastWords}`)));
      lines.on('line', (line) => {
        const message = parseLine(line);
        if (typeof message.offer === 'string') {
          clearTimeout(timer);
          resolve(message.offer);
        } else if (message.state === 'failed') this.#end('the WebRTC connection failed');
      });
    });
  }
}

function parseLine(line: string): { offer?: unknown; state?: unknown } {
  try {
    return JSON.parse(line) as { offer?: unknown; state?: unknown };
  } catch {
    return {};
  }
}

/** Settles when the process is gone: exited, or never started (a missing program). */
function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}
