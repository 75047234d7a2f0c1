/**
 * RTMP ingest end to end: a real RTMP client (FFmpeg, as OBS or a hardware encoder would send:
 * x264 with B-frames and AAC) publishes with a stream key; the server transcodes what browsers
 * cannot play, publishes it into the session's Janus room over WebRTC, and a Chromium viewer in
 * the media namespace plays it over WHEP. Wrong and revoked keys, audio-only streams and garbage
 * are refused; a second encoder replaces the first (and, sending no B-frames, is passed through);
 * stopping the encoder gives `stopped`, then a replay.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { isJpeg } from '../src/media/mpjpeg-reader.js';
import type { RunningApp } from './support/app.js';
import { needsGstreamer } from './support/gstreamer.js';
import { call, register, replayReady } from './support/http.js';
import { playFromPage } from './support/media-clients.js';
import { needsMedia } from './support/media-net.js';
import { startMediaStack, type MediaStack } from './support/media-stack.js';
import { eventually, SocketPool } from './support/ws.js';

const skip = needsMedia() ?? needsGstreamer();
const METRICS_TOKEN = 'media-rtmp-metrics-token';

/** FFmpeg as an RTMP encoder: a moving test picture and a tone, H.264 + AAC in FLV. */
function encoder(url: string, video: string[], audio = true): ChildProcess {
  const args = [
    ...['-hide_banner', '-loglevel', 'error', '-re'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30'],
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'] : []),
    ...(audio ? ['-map', '0:v', '-map', '1:a', '-c:a', 'aac', '-b:a', '96k'] : ['-map', '0:v']),
    ...['-c:v', 'libx264', '-pix_fmt', 'yuv420p', ...video],
    ...['-f', 'flv', url],
  ];
  return spawn('ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] });
}

/** OBS's usual x264 output: B-frames, a key frame every 2 s. Browsers need it transcoded. */
const WITH_B_FRAMES = ['-preset', 'ultrafast', '-bf', '3', '-g', '60'];
/** Already playable: Constrained Baseline (no B-frames), a key frame every second. */
const PLAYABLE = ['-preset', 'ultrafast', '-profile:v', 'baseline', '-g', '30'];

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Ends an encoder as OBS's Stop Streaming does: `q` on FFmpeg's stdin closes the stream. */
async function stopEncoder(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.stdin?.end('q');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited(child);
  clearTimeout(timer);
}

/** The programs our server started (FFmpeg and the WebRTC publisher of each ingest). */
function ingestProcesses(): string[] {
  try {
    return execFileSync('pgrep', ['-a', '-P', String(process.pid)])
      .toString()
      .split('\n')
      .filter((line) => /ffmpeg .*pipe:0|WEBRTC|webrtcbin/.test(line));
  } catch {
    return [];
  }
}

describe('RTMP ingest with stream keys', { skip }, () => {
  let stack: MediaStack;
  let server: RunningApp;
  let page: Page;
  let rtmp: string;
  const sockets = new SocketPool();
  const encoders: ChildProcess[] = [];

  before(async () => {
    stack = await startMediaStack({
      env: { RTMP_PORT: '0', METRICS_TOKEN, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' },
    });
    server = stack.server;
    rtmp = `rtmp://${stack.net.hostAddress}:${server.app.ingest.rtmpPort}/live`;
    page = await stack.browser.newPage();
    await page.goto(`${server.baseUrl}/app-config.json`);
  });

  after(async () => {
    for (const child of encoders) child.kill('SIGKILL');
    sockets.closeAll();
    await stack?.close();
  });

  async function streamKey(vendorToken: string, title: string): Promise<{ id: string; key: string }> {
    const created = await call(server.baseUrl, 'POST', '/me/stream-keys', {
      token: vendorToken,
      body: { name: 'Encoder', title },
    });
    assert.equal(created.status, 201);
    return created.body;
  }

  async function liveSessionOf(vendorId: unknown): Promise<any> {
    const active = await call(server.baseUrl, 'GET', '/live/sessions/active?limit=200');
    return active.body.items.find((s: any) => String(s.vendor.id) === String(vendorId));
  }

  function start(url: string, video: string[], audio = true): ChildProcess {
    const child = encoder(url, video, audio);
    encoders.push(child);
    return child;
  }

  /** streammeon_ingest_streams_total{protocol="rtmp",video} now. */
  async function ingestStreams(video: 'copy' | 'transcode' | 'refused'): Promise<number> {
    const res = await fetch(`${server.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    const text = await res.text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`streammeon_ingest_streams_total{protocol="rtmp",video="${video}"}`));
    return Number(line?.split(' ').pop() ?? 0);
  }

  /** Whether the page's last viewer connection receives audio that advances. */
  async function audioAdvances(): Promise<boolean> {
    const received = () =>
      page.evaluate(async () => {
        const pcs = (window as unknown as { whep?: RTCPeerConnection[] }).whep ?? [];
        const pc = pcs[pcs.length - 1];
        let samples = 0;
        (await pc?.getStats())?.forEach(
          (report: { type: string; kind?: string; totalSamplesReceived?: number }) => {
            if (report.type === 'inbound-rtp' && report.kind === 'audio')
              samples = report.totalSamplesReceived ?? 0;
          },
        );
        return samples;
      });
    const first = await received();
    let later = first;
    await eventually(
      async () => {
        later = await received();
        return later > first;
      },
      'audio samples arrive',
      5_000,
    ).catch(() => {});
    return later > first;
  }

  async function closeViewers(): Promise<void> {
    await page.evaluate(() => {
      const state = window as unknown as { whep?: RTCPeerConnection[] };
      for (const pc of state.whep ?? []) pc.close();
      state.whep = [];
      for (const video of document.querySelectorAll('video')) video.remove();
    });
  }

  describe('one vendor going live from an encoder', () => {
    let vendor: Awaited<ReturnType<typeof register>>;
    let key: string;
    let sessionId = '';
    let first: ChildProcess;

    before(async () => {
      vendor = await register(server.baseUrl, 'vendor');
      key = (await streamKey(vendor.token, 'Evening show over RTMP')).key;
    });

    it('an encoder sending B-frames and AAC goes live in a new session titled by the key, transcoded for browsers', async () => {
      first = start(`${rtmp}/${key}`, WITH_B_FRAMES);
      await eventually(
        async () => {
          if (first.exitCode !== null) throw new Error('the encoder exited early');
          sessionId = (await liveSessionOf(vendor.user.id))?.session_id ?? '';
          return sessionId !== '' && (await server.app.media.sfu().rooms.get(sessionId))?.state === 'live';
        },
        'the key owner has a live session with live media',
        20_000,
      );
      const session = await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}`);
      assert.equal(session.body.title, 'Evening show over RTMP');
      const viewer = await register(server.baseUrl);
      const played = await playFromPage(page, sessionId, viewer.token);
      assert.equal(played.post, 406);
      assert.equal(played.width, 640, 'the viewer decodes the 640×360 picture');
      assert.ok(played.advancing, 'video advances');
      assert.ok(await audioAdvances(), 'audio (AAC made Opus) advances');
      assert.equal(await ingestStreams('transcode'), 1, 'its video is transcoded');
      await closeViewers();
    });

    it("the lobby shows the stream's thumbnail: a real JPEG of the picture, cached by ETag", async () => {
      let url = '';
      await eventually(
        async () => {
          url = (await liveSessionOf(vendor.user.id))?.thumbnail_url ?? '';
          return url !== '';
        },
        'the session has a thumbnail_url',
        15_000,
      );
      const image = await fetch(`${server.baseUrl}${url}`);
      assert.equal(image.status, 200);
      assert.equal(image.headers.get('content-type'), 'image/jpeg');
      assert.match(image.headers.get('cache-control') ?? '', /max-age=\d+/);
      const jpeg = Buffer.from(await image.arrayBuffer());
      assert.ok(isJpeg(jpeg), 'the body is a JPEG');
      const size = execFileSync(
        'ffprobe',
        ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', '-'],
        {
          input: jpeg,
        },
      )
        .toString()
        .trim();
      assert.equal(size, '480,270', 'about 480 px wide, the aspect of the picture');
      const again = await fetch(`${server.baseUrl}${url}`, {
        headers: { 'if-none-match': image.headers.get('etag') ?? '' },
      });
      assert.equal(again.status, 304);
    });

    it('a second encoder with the same key replaces the first; being playable already, it is passed through', async () => {
      const replaced = first;
      const oldFeed = (await server.app.media.sfu().rooms.get(sessionId))?.publisher;
      first = start(`${rtmp}/${key}`, PLAYABLE);
      assert.notEqual(await exited(replaced), null, "the first encoder's connection is closed");
      // The new publisher's media, not the replaced one's state that may still read `live`.
      await eventually(
        async () => {
          const room = await server.app.media.sfu().rooms.get(sessionId);
          return room?.state === 'live' && room.publisher !== undefined && room.publisher !== oldFeed;
        },
        "the new publisher's media is live",
        20_000,
      );
      assert.equal((await liveSessionOf(vendor.user.id))?.session_id, sessionId, 'the same session');
      const viewer = await register(server.baseUrl);
      const played = await playFromPage(page, sessionId, viewer.token);
      assert.equal(played.width, 640);
      assert.ok(played.advancing);
      assert.equal(await ingestStreams('copy'), 1, 'its video is passed through untouched');
      await closeViewers();
    });

    it('stopping the encoder tells viewers `stopped`, and the ended session becomes a replay', async () => {
      const viewer = await register(server.baseUrl);
      const socket = await sockets.open(`${server.wsUrl}/ws/live/${sessionId}?token=${viewer.token}`);
      await socket.waitFor((m) => m.type === 'media' && m.state === 'live');
      await stopEncoder(first);
      await socket.waitFor((m) => m.type === 'media' && m.state === 'stopped', 10_000);
      await eventually(() => ingestProcesses().length === 0, 'no ingest process is left', 10_000);
      await call(server.baseUrl, 'POST', `/live/sessions/${sessionId}/end`, { token: vendor.token });
      const replay = await replayReady(server.baseUrl, sessionId);
      assert.equal(replay.content_type, 'video/mp4');
      const ended = await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}`);
      assert.ok(ended.body.thumbnail_url, 'the ended session keeps its last thumbnail as a poster');
    });
  });

  describe('what is refused', () => {
    it('a wrong key is refused within a second and creates nothing', async () => {
      const vendor = await register(server.baseUrl, 'vendor');
      const started = Date.now();
      const child = start(`${rtmp}/smk_${'x'.repeat(43)}`, PLAYABLE);
      assert.notEqual(await exited(child), 0);
      assert.ok(Date.now() - started < 5_000, 'the encoder hears the refusal at once');
      assert.equal(await liveSessionOf(vendor.user.id), undefined);
      assert.equal(server.app.ingest.ingests?.size, 0);
    });

    it('a revoked key is refused and creates nothing', async () => {
      const vendor = await register(server.baseUrl, 'vendor');
      const created = await streamKey(vendor.token, 'Revoked');
      await call(server.baseUrl, 'DELETE', `/me/stream-keys/${created.id}`, { token: vendor.token });
      const child = start(`${rtmp}/${created.key}`, PLAYABLE);
      assert.notEqual(await exited(child), 0);
      assert.equal(await liveSessionOf(vendor.user.id), undefined);
    });

    it('an audio-only stream is refused with nothing created and no process left', async () => {
      const vendor = await register(server.baseUrl, 'vendor');
      const { key } = await streamKey(vendor.token, 'Radio');
      const radio = spawn(
        'ffmpeg',
        [
          ...['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440'],
          ...['-c:a', 'aac', '-f', 'flv', `${rtmp}/${key}`],
        ],
        { stdio: 'ignore' },
      );
      encoders.push(radio);
      assert.notEqual(await exited(radio), null, 'the connection is closed');
      assert.equal(await liveSessionOf(vendor.user.id), undefined);
      assert.equal(await ingestStreams('refused'), 1);
      assert.deepEqual(ingestProcesses(), []);
    });

    it('bytes that are not RTMP close the connection and leave the server serving', async () => {
      const socket = connect(Number(server.app.ingest.rtmpPort), stack.net.hostAddress);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => {});
      const started = Date.now();
      socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      await closed;
      assert.ok(Date.now() - started < 1_000, 'closed within a second');
      const health = await call(server.baseUrl, 'GET', '/health');
      assert.equal(health.status, 200);
    });
  });
});
