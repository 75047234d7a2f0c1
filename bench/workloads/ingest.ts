/**
 * `npm run bench -- --only=ingest` (opt-in, like the media run: it needs root, Janus, Chromium,
 * FFmpeg and GStreamer): RTMP ingest, passthrough against transcoding, on one machine.
 *
 * Each round, an RTMP encoder (FFmpeg, 640×360 at 30 fps, test picture and tone; H.264 Baseline
 * with a key frame each second for passthrough, or x264's usual High profile with B-frames and a
 * 2 s GOP for transcoding) starts publishing with a stream key while a viewer in Chromium waits
 * on /ws/live, as the watch page does; when it hears `media: live` it plays over WHEP. Measured:
 * - from the encoder's start (its first packet follows within milliseconds) to `media: live`,
 *   and to the viewer's first decoded frame;
 * - the CPU of the ingest's own processes (FFmpeg, the GStreamer publisher) over a 10 s window
 *   once playing, as a percentage of one core, from /proc (the encoder's CPU is not counted).
 *
 * Writes bench/INGEST.md (bench/out/ingest/INGEST.md with --quick). Medians over ROUNDS rounds.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { cpuPercent, loadAverage, sampleProc, sleep } from '../lib/proc.js';
// Test support, imported on purpose: the bench and the tests set up the same Janus and namespace.
import { call, register } from '../../test/support/http.js';
import { playFromPage } from '../../test/support/media-clients.js';
import { startMediaStack, type MediaStack } from '../../test/support/media-stack.js';
import { TestSocket } from '../../test/support/ws.js';

type Path = 'copy' | 'transcode';

const ENCODER: Record<Path, string[]> = {
  copy: ['-preset', 'ultrafast', '-profile:v', 'baseline', '-g', '30'],
  transcode: ['-preset', 'veryfast', '-bf', '3', '-g', '60'],
};

interface Round {
  path: Path;
  liveMs: number;
  firstFrameMs: number;
  ingestCpuPercent: number;
}

const WINDOW_MS = 10_000;

export async function runIngest(options: { quick: boolean; log: (line: string) => void; commit: string }) {
  const rounds = options.quick ? 1 : 3;
  const stack = await startMediaStack({ env: { RTMP_PORT: '0', RATE_LIMITS: 'off', RECORDINGS: 'off' } });
  const results: Round[] = [];
  const errors: string[] = [];
  try {
    const page = await stack.browser.newPage();
    await page.goto(`${stack.server.baseUrl}/app-config.json`);
    for (let i = 0; i < rounds; i++) {
      for (const path of ['copy', 'transcode'] as const) {
        try {
          const round = await measure(stack, page, path);
          results.push(round);
          options.log(
            `ingest ${path}: live ${round.liveMs} ms, first frame ${round.firstFrameMs} ms, ingest CPU ${round.ingestCpuPercent.toFixed(1)}%`,
          );
        } catch (error) {
          errors.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  } finally {
    await stack.close();
  }
  const report = render(results, errors, rounds, options.commit);
  const dir = options.quick ? 'bench/out/ingest' : 'bench';
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'INGEST.md'), report);
  options.log(`wrote ${join(dir, 'INGEST.md')}`);
  return { results, errors };
}

async function measure(stack: MediaStack, page: Page, path: Path): Promise<Round> {
  const { server } = stack;
  const vendor = await register(server.baseUrl, 'vendor');
  const created = await call(server.baseUrl, 'POST', '/me/stream-keys', {
    token: vendor.token,
    body: { name: 'bench', title: `ingest ${path}` },
  });
  const viewer = await register(server.baseUrl);
  const url = `rtmp://${stack.net.hostAddress}:${server.app.ingest.rtmpPort}/live/${created.body.key}`;
  const started = performance.now();
  const encoder = startEncoder(url, ENCODER[path]);
  try {
    const sessionId = await sessionOf(server.baseUrl, vendor.user.id, encoder);
    const socket = await TestSocket.open(`${server.wsUrl}/ws/live/${sessionId}?token=${viewer.token}`);
    await socket.waitFor((m) => m.type === 'media' && m.state === 'live', 30_000);
    const liveMs = performance.now() - started;
    socket.close();
    const played = await playFromPage(page, sessionId, viewer.token, { waitMs: 20_000 });
    if (!played.firstFrameAt) throw new Error('the viewer decoded no frame within 20 s');
    // Both clocks are this machine's wall clock.
    const firstFrameMs = played.firstFrameAt - performance.timeOrigin - started;
    const processes = ingestPids();
    const before = processes.map(sampleProc);
    await sleep(WINDOW_MS);
    const after = processes.map(sampleProc);
    const ingestCpuPercent = before.reduce((sum, from, i) => sum + cpuPercent(from, after[i]!), 0);
    await page.evaluate(() => {
      for (const pc of (window as unknown as { whep?: RTCPeerConnection[] }).whep ?? []) pc.close();
      document.querySelectorAll('video').forEach((v) => v.remove());
    });
    return { path, liveMs: Math.round(liveMs), firstFrameMs: Math.round(firstFrameMs), ingestCpuPercent };
  } finally {
    encoder.kill('SIGKILL');
    await new Promise((resolve) => encoder.once('exit', resolve));
    await sleep(1_000);
  }
}

function startEncoder(url: string, video: string[]): ChildProcess {
  return spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440', '-map', '0:v', '-map', '1:a'],
      ...['-c:v', 'libx264', '-pix_fmt', 'yuv420p', ...video, '-c:a', 'aac', '-f', 'flv', url],
    ],
    { stdio: 'ignore' },
  );
}

async function sessionOf(baseUrl: string, vendorId: unknown, encoder: ChildProcess): Promise<string> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(20)) {
    if (encoder.exitCode !== null) throw new Error('the encoder exited');
    const active = await call(baseUrl, 'GET', '/live/sessions/active?limit=200');
    const mine = active.body.items.find((s: any) => String(s.vendor.id) === String(vendorId));
    if (mine) return mine.session_id as string;
  }
  throw new Error('no session within 20 s');
}

/** Our server's ingest processes: FFmpeg reading pipe:0 and the GStreamer publisher. */
function ingestPids(): number[] {
  const lines = execFileSync('pgrep', ['-a', '-P', String(process.pid)])
    .toString()
    .split('\n');
  return lines
    .filter((line) => /ffmpeg .*pipe:0|python3 -u -c/.test(line))
    .map((line) => Number(line.split(' ')[0]))
    .filter((pid) => pid > 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function render(results: Round[], errors: string[], rounds: number, commit: string): string {
  const row = (path: Path, label: string) => {
    const of = results.filter((r) => r.path === path);
    if (!of.length) return `| ${label} | – | – | – |`;
    return `| ${label} | ${median(of.map((r) => r.liveMs))} | ${median(of.map((r) => r.firstFrameMs))} | ${median(of.map((r) => r.ingestCpuPercent)).toFixed(1)} |`;
  };
  return [
    '# RTMP ingest: passthrough against transcoding',
    '',
    `Generated by \`npm run bench -- --only=ingest\` (bench/workloads/ingest.ts), ${new Date().toISOString()}, commit ${commit}. ${cpus()[0]?.model ?? ''}, ${cpus().length} cores; load average ${loadAverage()}. Medians of ${rounds} round(s).`,
    '',
    "An RTMP encoder (FFmpeg, 640×360 at 30 fps with a tone) publishes with a stream key; a viewer in Chromium waits on /ws/live and plays over WHEP once it hears `media: live`, as the watch page does. The encoder, our server, its ingest processes, Janus and Chromium share the two cores. Times run from the encoder's start (its first packet follows within milliseconds); CPU is that of the ingest's FFmpeg and GStreamer publisher over 10 s of playing, in % of one core.",
    '',
    "| path | to `media: live` ms | to the viewer's first frame ms | ingest CPU % of a core |",
    '| --- | ---: | ---: | ---: |',
    row('copy', 'passthrough (H.264 Baseline, key frame each 1 s)'),
    row('transcode', 'transcode (x264 High, B-frames, 2 s GOP → Constrained Baseline)'),
    '',
    ...(errors.length ? ['Errors:', '', ...errors.map((e) => `- ${e}`), ''] : []),
  ].join('\n');
}
