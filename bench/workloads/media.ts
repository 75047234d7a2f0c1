/**
 * `npm run bench -- --only=media` (never part of the default or --quick run): video from one
 * publisher to N viewers, through Janus (SFU mode: WHIP in, WHEP out) and then peer to peer over
 * the /ws/signal relay (mesh), on the same server, Chromium and machine.
 *
 * Measured per N, over a fixed window once every viewer has its first frame and the bitrate has
 * settled: Janus CPU (utime + stime from /proc/<pid>/stat) and RSS, the publisher's upload (its
 * page's outbound-rtp video + audio bytes, headers included), each viewer's time to first frame
 * (from the start of its WHEP exchange, or of its /ws/signal connection in the mesh, to the
 * <video>'s first frame), the frame rates viewers decode, and the CPU of Chromium and of the
 * machine. Each mode's ladder stops growing at the first N where Chromium cannot keep up (a
 * viewer without a first frame, viewers decoding under 75% of the frames sent, or the
 * publisher's encoder limited by CPU): the report says where and why.
 *
 * Janus never gathers loopback candidates, so all of it runs in a network namespace with a veth
 * pair. The namespace, Janus and the Chromium wrapper come from the media tests' support code
 * (test/support/media-net.ts), imported here on purpose rather than copied: the bench and the
 * tests must set up the same Janus. Our server runs in this process (buildApp through
 * test/support/app.ts's startApp) on the root-side veth address, in SFU mode, with rate limits off.
 *
 * Page side: one Chromium; the publisher in one page, all N viewers of a step as N
 * RTCPeerConnections in ONE other page (each with a small <video>), to save the renderer
 * processes a page per viewer would cost on two cores. The page code is a plain-JS string
 * installed with page.evaluate, so tsx's helpers never reach the page.
 *
 * Writes bench/MEDIA.md, bench/charts/media-*.svg and bench/out/media/results.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadAverage, sampleProc, sleep, type ProcSample } from '../lib/proc.js';
import type { Plan } from '../plan.js';
import { lineChart } from '../report/svg.js';
// Test support, imported by the bench on purpose (see the header).
import { startApp, type RunningApp } from '../../test/support/app.js';
import { goLive, register } from '../../test/support/http.js';
import { createMediaNet, needsMedia, type MediaNet } from '../../test/support/media-net.js';

export type MediaMode = 'sfu' | 'mesh';

export interface MediaStep {
  mode: MediaMode;
  viewers: number;
  /** Per viewer that got one, ms from the start of its join to its first frame. */
  firstFrameMs: number[];
  /** Per viewer, ms from the start of its join to its connection's `connected`. */
  connectedMs: number[];
  /** Viewers with no first frame within the join timeout. */
  failed: number;
  /** Publisher's outbound-rtp bytes/s (video + audio, payload + RTP headers) over the window. */
  uploadBytesPerSec: number;
  uploadVideoBytesPerSec: number;
  /** Frames per second the publisher sent per connection (mean over its connections). */
  sentFps: number;
  /** Smallest frame width the publisher encoded at the end of the window, and why it was limited. */
  encodedWidthMin: number;
  qualityLimitation: string;
  /** Frames per second decoded by viewers: mean and the slowest viewer. */
  viewerFpsMean: number;
  viewerFpsMin: number;
  /** Bytes/s all viewers received together. */
  downloadBytesPerSec: number;
  /** Janus over the window (SFU only): % of one core, RSS at the end. */
  janusCpuPercent?: number;
  janusRssBytes?: number;
  /** Chromium (every process in the namespace but Janus) and the whole machine, % of one core. */
  chromiumCpuPercent: number;
  machineCpuPercent: number;
  /** This process: our server (in-process) and Playwright's driver connection. */
  serverCpuPercent: number;
  /** Empty when Chromium kept up; else why the ladder stopped here. */
  notKeptUp: string;
}

export interface MediaResult {
  startedAt: string;
  finishedAt: string;
  machine: { cpu: string; cores: number; memoryGiB: number; kernel: string; chromium: string; janus: string };
  commit: string;
  loadBefore: string;
  loadAfter: string;
  config: { maxBitrate: number; settleMs: number; windowMs: number; joinTimeoutMs: number; sizes: number[] };
  /** The SFU publisher alone (N = 0): Janus's own cost. */
  idle?: { janusCpuPercent: number; janusRssBytes: number; uploadBytesPerSec: number };
  steps: MediaStep[];
  /** Per mode, why the ladder stopped before its last size (absent: it ran every size). */
  stopped: Partial<Record<MediaMode, string>>;
  errors: string[];
}

/** The page side, plain JS (no tsx helpers), installed once per page. */
const PAGE_SCRIPT = String.raw`(() => {
  const B = (window.bench = { stream: null, pubs: [], viewers: [], whip: null, token: null, meshPeers: new Map() });

  const gathered = (pc) =>
    new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
      setTimeout(resolve, 2000);
    });

  const connected = (pc, timeoutMs) =>
    new Promise((resolve, reject) => {
      if (pc.connectionState === 'connected') return resolve();
      const timer = setTimeout(() => reject(new Error('not connected after ' + timeoutMs + ' ms: ' + pc.connectionState)), timeoutMs);
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected') { clearTimeout(timer); resolve(); }
        if (pc.connectionState === 'failed') { clearTimeout(timer); reject(new Error('connection failed')); }
      });
    });

  const camera = async () => {
    if (!B.stream)
      B.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: 640, height: 480, frameRate: 30 },
        audio: true,
      });
    return B.stream;
  };

  const cap = async (pc, maxBitrate) => {
    for (const sender of pc.getSenders()) {
      if (sender.track?.kind !== 'video') continue;
      const params = sender.getParameters();
      if (!params.encodings?.length) params.encodings = [{}];
      params.encodings[0].maxBitrate = maxBitrate;
      await sender.setParameters(params);
    }
  };

  const sendonly = (pc, stream) => {
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  };

  // A viewer's <video>: first frame is the earliest of requestVideoFrameCallback, 'resize' and a
  // 5 ms poll of videoWidth (whichever the headless compositor delivers first).
  const player = (v, stream) => {
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.style.cssText = 'width:48px;height:36px;display:inline-block';
    document.body.append(video);
    v.video = video;
    v.firstFrame = new Promise((resolve) => {
      let done = false;
      const hit = () => {
        if (done) return;
        done = true;
        clearInterval(poll);
        resolve(performance.now());
      };
      const poll = setInterval(() => { if (video.videoWidth > 0) hit(); }, 5);
      video.addEventListener('resize', () => { if (video.videoWidth > 0) hit(); });
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => hit());
    });
    video.srcObject = stream;
  };

  const timed = async (v, timeoutMs) => {
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), timeoutMs));
    const first = await Promise.race([v.firstFrameSet, timeout]);
    v.firstFrameMs = first === null ? null : first - v.t0;
  };

  window.benchPublishWhip = async (sessionId, token, maxBitrate) => {
    const stream = await camera();
    const pc = new RTCPeerConnection();
    sendonly(pc, stream);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const res = await fetch('/live/sessions/' + sessionId + '/whip', {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer ' + token },
      body: pc.localDescription.sdp,
    });
    const body = await res.text();
    if (res.status !== 201) throw new Error('WHIP ' + res.status + ': ' + body);
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    await cap(pc, maxBitrate);
    B.pubs.push(pc);
    B.whip = res.headers.get('location');
    B.token = token;
    await connected(pc, 10000);
    return B.whip;
  };

  window.benchStopPublishing = async () => {
    if (B.whip) await fetch(B.whip, { method: 'DELETE', headers: { authorization: 'Bearer ' + B.token } });
    for (const pc of B.pubs) pc.close();
    for (const pc of B.meshPeers.values()) pc.close();
    B.meshPeers.clear();
    B.pubs = [];
    B.whip = null;
    if (B.signal) B.signal.close();
  };

  // The mesh vendor: one RTCPeerConnection per viewer, offered on peer_joined, as the web app does.
  window.benchMeshVendor = async (sessionId, token, maxBitrate) => {
    const stream = await camera();
    const ws = new WebSocket('ws://' + location.host + '/ws/signal/' + sessionId + '?token=' + encodeURIComponent(token));
    B.signal = ws;
    let chain = Promise.resolve();
    const welcomed = new Promise((resolve, reject) => {
      ws.addEventListener('close', (e) => reject(new Error('signal closed ' + e.code)));
      ws.addEventListener('message', (event) => {
        const msg = JSON.parse(event.data);
        if (msg.type === 'welcome') return resolve();
        chain = chain.then(async () => {
          const peer = msg.type === 'peer_joined' || msg.type === 'peer_left' ? msg.peer_id : msg.from;
          if (msg.type === 'peer_joined') {
            const pc = new RTCPeerConnection();
            B.meshPeers.set(peer, pc);
            pc.addEventListener('icecandidate', (e) => {
              if (e.candidate) ws.send(JSON.stringify({ type: 'candidate', to: peer, candidate: e.candidate.toJSON() }));
            });
            sendonly(pc, stream);
            const offer = await pc.createOffer();
            await pc.setLocalDescription(offer);
            await cap(pc, maxBitrate);
            ws.send(JSON.stringify({ type: 'offer', to: peer, sdp: offer.sdp }));
          } else if (msg.type === 'answer') {
            await B.meshPeers.get(peer)?.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
          } else if (msg.type === 'candidate') {
            await B.meshPeers.get(peer)?.addIceCandidate(msg.candidate);
          } else if (msg.type === 'peer_left') {
            B.meshPeers.get(peer)?.close();
            B.meshPeers.delete(peer);
          }
        }).catch((error) => console.error('vendor', error));
      });
    });
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve);
      ws.addEventListener('error', () => reject(new Error('signal socket error')));
    });
    ws.send(JSON.stringify({ type: 'role', value: 'vendor' }));
    await welcomed;
  };

  // N WHEP viewers at once (offer, 406 counter-offer, PATCHed answer), each timed from its start.
  window.benchWhepViewers = async (sessionId, tokens, timeoutMs) => {
    const started = tokens.map((token) => {
      const v = { t0: performance.now(), token, location: null, pc: null, firstFrameMs: null, connectedMs: null, error: null };
      B.viewers.push(v);
      v.run = (async () => {
        const probe = new RTCPeerConnection();
        probe.addTransceiver('video', { direction: 'recvonly' });
        probe.addTransceiver('audio', { direction: 'recvonly' });
        const offer = (await probe.createOffer()).sdp;
        probe.close();
        const auth = { authorization: 'Bearer ' + token };
        const post = await fetch('/live/sessions/' + sessionId + '/whep', {
          method: 'POST',
          headers: { 'content-type': 'application/sdp', ...auth },
          body: offer,
        });
        const counter = await post.text();
        if (post.status !== 406) throw new Error('WHEP POST ' + post.status + ': ' + counter.slice(0, 200));
        v.location = post.headers.get('location');
        const pc = (v.pc = new RTCPeerConnection());
        pc.addEventListener('connectionstatechange', () => {
          if (pc.connectionState === 'connected' && v.connectedMs === null) v.connectedMs = performance.now() - v.t0;
        });
        let resolveFirst;
        v.firstFrameSet = new Promise((resolve) => (resolveFirst = resolve));
        pc.addEventListener('track', (event) => {
          if (event.track.kind !== 'video' || v.video) return;
          player(v, event.streams[0] || new MediaStream([event.track]));
          v.firstFrame.then(resolveFirst);
        });
        await pc.setRemoteDescription({ type: 'offer', sdp: counter });
        await pc.setLocalDescription(await pc.createAnswer());
        await gathered(pc);
        const patch = await fetch(v.location, {
          method: 'PATCH',
          headers: { 'content-type': 'application/sdp', ...auth },
          body: pc.localDescription.sdp,
        });
        if (patch.status !== 204) throw new Error('WHEP PATCH ' + patch.status);
        await timed(v, Math.max(0, timeoutMs - (performance.now() - v.t0)));
      })().catch((error) => { v.error = String(error && error.message || error); });
      return v;
    });
    await Promise.all(started.map((v) => v.run));
    return started.map((v) => ({ firstFrameMs: v.firstFrameMs, connectedMs: v.connectedMs, error: v.error }));
  };

  // N mesh viewers at once: /ws/signal as viewer, answer the vendor's offer, trickle candidates.
  window.benchMeshViewers = async (sessionId, tokens, timeoutMs) => {
    const started = tokens.map((token) => {
      const v = { t0: performance.now(), token, pc: null, ws: null, firstFrameMs: null, connectedMs: null, error: null };
      B.viewers.push(v);
      let resolveFirst;
      v.firstFrameSet = new Promise((resolve) => (resolveFirst = resolve));
      v.run = (async () => {
        const ws = (v.ws = new WebSocket('ws://' + location.host + '/ws/signal/' + sessionId + '?token=' + encodeURIComponent(token)));
        let chain = Promise.resolve();
        ws.addEventListener('message', (event) => {
          const msg = JSON.parse(event.data);
          chain = chain.then(async () => {
            if (msg.type === 'offer') {
              if (v.pc) v.pc.close();
              const pc = (v.pc = new RTCPeerConnection());
              pc.addEventListener('connectionstatechange', () => {
                if (pc.connectionState === 'connected' && v.connectedMs === null) v.connectedMs = performance.now() - v.t0;
              });
              pc.addEventListener('icecandidate', (e) => {
                if (e.candidate) ws.send(JSON.stringify({ type: 'candidate', candidate: e.candidate.toJSON() }));
              });
              pc.addEventListener('track', (event) => {
                if (event.track.kind !== 'video' || v.video) return;
                player(v, event.streams[0] || new MediaStream([event.track]));
                v.firstFrame.then(resolveFirst);
              });
              await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
              const answer = await pc.createAnswer();
              await pc.setLocalDescription(answer);
              ws.send(JSON.stringify({ type: 'answer', sdp: answer.sdp }));
            } else if (msg.type === 'candidate' && v.pc) {
              await v.pc.addIceCandidate(msg.candidate);
            }
          }).catch((error) => { v.error = String(error && error.message || error); });
        });
        await new Promise((resolve, reject) => {
          ws.addEventListener('open', resolve);
          ws.addEventListener('error', () => reject(new Error('signal socket error')));
        });
        ws.send(JSON.stringify({ type: 'role', value: 'viewer' }));
        await timed(v, Math.max(0, timeoutMs - (performance.now() - v.t0)));
      })().catch((error) => { v.error = String(error && error.message || error); });
      return v;
    });
    await Promise.all(started.map((v) => v.run));
    return started.map((v) => ({ firstFrameMs: v.firstFrameMs, connectedMs: v.connectedMs, error: v.error }));
  };

  window.benchCloseViewers = async () => {
    const viewers = B.viewers;
    B.viewers = [];
    await Promise.all(
      viewers.map(async (v) => {
        if (v.location)
          await fetch(v.location, { method: 'DELETE', headers: { authorization: 'Bearer ' + v.token } }).catch(() => {});
        if (v.pc) v.pc.close();
        if (v.ws) v.ws.close();
        if (v.video) { v.video.srcObject = null; v.video.remove(); }
      }),
    );
  };

  // Cumulative counters, summed over the publisher's connections.
  window.benchPublisherStats = async () => {
    const pcs = [...B.pubs, ...B.meshPeers.values()];
    const started = performance.now();
    const out = { bytes: 0, videoBytes: 0, framesSent: 0, connections: pcs.length, widthMin: Infinity, limitation: {}, at: 0 };
    for (const pc of pcs) {
      const stats = await pc.getStats();
      stats.forEach((r) => {
        if (r.type !== 'outbound-rtp') return;
        const bytes = (r.bytesSent || 0) + (r.headerBytesSent || 0);
        out.bytes += bytes;
        if (r.kind === 'video') {
          out.videoBytes += bytes;
          out.framesSent += r.framesSent || 0;
          if (r.frameWidth) out.widthMin = Math.min(out.widthMin, r.frameWidth);
          const why = r.qualityLimitationReason || 'none';
          out.limitation[why] = (out.limitation[why] || 0) + 1;
        }
      });
    }
    if (out.widthMin === Infinity) out.widthMin = 0;
    out.at = (started + performance.now()) / 2;
    return out;
  };

  // Cumulative counters per viewer.
  window.benchViewerStats = async () => {
    const started = performance.now();
    const out = [];
    for (const v of B.viewers) {
      const s = { framesDecoded: 0, bytes: 0 };
      if (v.pc) {
        const stats = await v.pc.getStats();
        stats.forEach((r) => {
          if (r.type !== 'inbound-rtp') return;
          s.bytes += (r.bytesReceived || 0) + (r.headerBytesReceived || 0);
          if (r.kind === 'video') s.framesDecoded += r.framesDecoded || 0;
        });
      }
      out.push(s);
    }
    return { at: (started + performance.now()) / 2, viewers: out };
  };
})()`;

interface PublisherStats {
  /** The page's clock (ms) halfway through reading the stats. */
  at: number;
  bytes: number;
  videoBytes: number;
  framesSent: number;
  connections: number;
  widthMin: number;
  limitation: Record<string, number>;
}
interface ViewerStats {
  at: number;
  viewers: { framesDecoded: number; bytes: number }[];
}
interface ViewerJoin {
  firstFrameMs: number | null;
  connectedMs: number | null;
  error: string | null;
}

/** Calls window[fn](...args) in the page (a string expression: nothing of tsx goes in). */
function inPage<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate<T>(`window.${fn}(...${JSON.stringify(args)})`);
}

/** Nearest-rank quantile of a small sample (p99 of fewer than 100 values is its maximum). */
export function quantile(values: number[], q: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

/** CPU seconds of every process in the namespace but `exclude`, by pid. */
function namespaceCpu(net: MediaNet, exclude: number): Map<number, number> {
  const pids = execFileSync('ip', ['netns', 'pids', net.name], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => pid !== exclude);
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      out.set(pid, sampleProc(pid).cpuSeconds);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** The first line of `command args` that looks like a version (Janus exits 1 after printing it). */
function version(command: string, args: string[]): string {
  const { stdout = '' } = spawnSync(command, args, { encoding: 'utf8' });
  return (
    String(stdout)
      .split('\n')
      .find((line) => /\d+\.\d+/.test(line))
      ?.trim() ?? 'unknown'
  );
}

export async function runMedia(
  plan: Plan,
  log: (line: string) => void,
  commit: string,
): Promise<MediaResult> {
  const cfg = plan.media;
  const result: MediaResult = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      chromium: '',
      janus: version(process.env.JANUS_PATH ?? '/usr/bin/janus', ['--version']),
    },
    commit,
    loadBefore: loadAverage(),
    loadAfter: '',
    config: {
      maxBitrate: cfg.maxBitrate,
      settleMs: cfg.settleMs,
      windowMs: cfg.windowMs,
      joinTimeoutMs: cfg.joinTimeoutMs,
      sizes: cfg.sizes,
    },
    steps: [],
    stopped: {},
    errors: [],
  };
  const skip = needsMedia();
  if (skip) throw new Error(`media: ${skip}`);

  let net: MediaNet | undefined;
  let server: RunningApp | undefined;
  let browser: Browser | undefined;
  try {
    net = await createMediaNet();
    const janus = await net.startJanus({ rtpPorts: [20000, 20999] });
    server = await startApp({
      host: net.hostAddress,
      env: { JANUS_URL: janus.url, JANUS_API_SECRET: janus.apiSecret, RATE_LIMITS: 'off' },
    });
    browser = await chromium.launch({
      executablePath: net.chromiumExecutable(),
      args: net.chromiumArgs([server.baseUrl]),
    });
    result.machine.chromium = browser.version();
    const context = await browser.newContext({ bypassCSP: true });
    const openPage = async () => {
      const page = await context.newPage();
      await page.goto(`${server!.baseUrl}/app-config.json`);
      await page.evaluate(PAGE_SCRIPT);
      return page;
    };
    const maxN = Math.max(...cfg.sizes);
    const tokens: string[] = [];
    for (let i = 0; i < maxN; i++) tokens.push((await register(server.baseUrl)).token);
    log(`  media: Janus pid ${janus.pid}, server ${server.baseUrl}, ${browser.version()}`);

    const measure = async (
      mode: MediaMode,
      publisher: Page,
      viewers: Page | undefined,
      n: number,
      joins: ViewerJoin[],
    ): Promise<MediaStep> => {
      await sleep(cfg.settleMs);
      // Page counters are rated over the page's own clock, /proc counters over this one's: each
      // pair of samples brackets the same window, without the other's reading time in it.
      const noViewers: ViewerStats = { at: 0, viewers: [] };
      const pub0 = await inPage<PublisherStats>(publisher, 'benchPublisherStats');
      const view0 = viewers ? await inPage<ViewerStats>(viewers, 'benchViewerStats') : noViewers;
      const janus0 = mode === 'sfu' ? sampleProc(janus.pid) : undefined;
      const ns0 = namespaceCpu(net!, janus.pid);
      const machine0 = machineTicks();
      const self0 = process.cpuUsage();
      const t0 = performance.now();
      await sleep(cfg.windowMs);
      const janus1: ProcSample | undefined = mode === 'sfu' ? sampleProc(janus.pid) : undefined;
      const ns1 = namespaceCpu(net!, janus.pid);
      const machine1 = machineTicks();
      const self = process.cpuUsage(self0);
      const seconds = (performance.now() - t0) / 1000;
      const pub1 = await inPage<PublisherStats>(publisher, 'benchPublisherStats');
      const view1 = viewers ? await inPage<ViewerStats>(viewers, 'benchViewerStats') : noViewers;
      const pubSeconds = (pub1.at - pub0.at) / 1000;
      const viewSeconds = (view1.at - view0.at) / 1000;
      let chromiumSeconds = 0;
      for (const [pid, cpu] of ns1) chromiumSeconds += cpu - (ns0.get(pid) ?? cpu);
      const fps = view1.viewers.map(
        (v, i) => (v.framesDecoded - (view0.viewers[i]?.framesDecoded ?? 0)) / viewSeconds,
      );
      const sentFps = pub1.connections
        ? (pub1.framesSent - pub0.framesSent) / pubSeconds / pub1.connections
        : 0;
      const firstFrameMs = joins.flatMap((j) => (j.firstFrameMs === null ? [] : [j.firstFrameMs]));
      const failed = joins.length - firstFrameMs.length;
      const step: MediaStep = {
        mode,
        viewers: n,
        firstFrameMs,
        connectedMs: joins.flatMap((j) => (j.connectedMs === null ? [] : [j.connectedMs])),
        failed,
        uploadBytesPerSec: (pub1.bytes - pub0.bytes) / pubSeconds,
        uploadVideoBytesPerSec: (pub1.videoBytes - pub0.videoBytes) / pubSeconds,
        sentFps,
        encodedWidthMin: pub1.widthMin,
        qualityLimitation: Object.entries(pub1.limitation)
          .map(([why, count]) => `${why}×${count}`)
          .join(' '),
        viewerFpsMean: fps.length ? fps.reduce((a, b) => a + b, 0) / fps.length : 0,
        viewerFpsMin: fps.length ? Math.min(...fps) : 0,
        downloadBytesPerSec: viewers
          ? (view1.viewers.reduce((a, v) => a + v.bytes, 0) -
              view0.viewers.reduce((a, v) => a + v.bytes, 0)) /
            viewSeconds
          : 0,
        janusCpuPercent:
          janus0 && janus1 ? ((janus1.cpuSeconds - janus0.cpuSeconds) / seconds) * 100 : undefined,
        janusRssBytes: janus1?.rssBytes,
        chromiumCpuPercent: (chromiumSeconds / seconds) * 100,
        machineCpuPercent:
          ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * cpus().length * 100,
        serverCpuPercent: ((self.user + self.system) / 1e6 / seconds) * 100,
        notKeptUp: '',
      };
      const reasons: string[] = [];
      if (failed)
        reasons.push(`${failed} of ${n} viewers had no first frame within ${cfg.joinTimeoutMs / 1000} s`);
      if (n && step.viewerFpsMin < 0.75 * sentFps)
        reasons.push(
          `the slowest viewer decoded ${step.viewerFpsMin.toFixed(1)} fps of the ${sentFps.toFixed(1)} sent`,
        );
      if (pub1.limitation.cpu)
        reasons.push(
          `the publisher's encoder was CPU-limited on ${pub1.limitation.cpu} of ${pub1.connections} connections (width ${pub1.widthMin})`,
        );
      step.notKeptUp = reasons.join('; ');
      const errors = [...new Set(joins.flatMap((j) => (j.error ? [j.error] : [])))];
      if (errors.length) log(`    viewer errors: ${errors.join(' | ')}`);
      log(
        `    ${mode} N=${n}: first frame p50 ${quantile(firstFrameMs, 0.5).toFixed(0)} ms p99 ${quantile(firstFrameMs, 0.99).toFixed(0)} ms, ` +
          `upload ${((step.uploadBytesPerSec * 8) / 1000).toFixed(0)} kbit/s, sent ${sentFps.toFixed(1)} fps, viewers ${step.viewerFpsMin.toFixed(1)}–${step.viewerFpsMean.toFixed(1)} fps, ` +
          `Janus ${step.janusCpuPercent?.toFixed(1) ?? '–'}% ${step.janusRssBytes ? (step.janusRssBytes / 2 ** 20).toFixed(0) + ' MiB' : ''}, ` +
          `Chromium ${step.chromiumCpuPercent.toFixed(0)}%, machine ${step.machineCpuPercent.toFixed(0)}%` +
          (step.notKeptUp ? `; NOT KEPT UP: ${step.notKeptUp}` : ''),
      );
      return step;
    };

    // 1. SFU: WHIP publisher, WHEP viewers.
    {
      const { vendor, session } = await goLive(server.baseUrl, 'media bench (SFU)');
      const publisher = await openPage();
      await inPage(publisher, 'benchPublishWhip', session.session_id, vendor.token, cfg.maxBitrate);
      // Warm-up viewer, not measured: WHEP answers 409 until Janus reports the publisher's media.
      const warm = await openPage();
      for (let attempt = 0; ; attempt++) {
        const [join] = await inPage<ViewerJoin[]>(
          warm,
          'benchWhepViewers',
          session.session_id,
          [tokens[0]],
          15_000,
        );
        await inPage(warm, 'benchCloseViewers');
        if (join?.firstFrameMs !== null && join?.firstFrameMs !== undefined) break;
        if (attempt >= 20) throw new Error(`SFU warm-up viewer never played: ${join?.error}`);
        await sleep(500);
      }
      await warm.close();
      const idle = await measure('sfu', publisher, undefined, 0, []);
      result.idle = {
        janusCpuPercent: idle.janusCpuPercent ?? 0,
        janusRssBytes: idle.janusRssBytes ?? 0,
        uploadBytesPerSec: idle.uploadBytesPerSec,
      };
      for (const n of cfg.sizes) {
        const viewers = await openPage();
        const joins = await inPage<ViewerJoin[]>(
          viewers,
          'benchWhepViewers',
          session.session_id,
          tokens.slice(0, n),
          cfg.joinTimeoutMs,
        );
        const step = await measure('sfu', publisher, viewers, n, joins);
        result.steps.push(step);
        await inPage(viewers, 'benchCloseViewers');
        await viewers.close();
        await sleep(1000);
        if (step.notKeptUp) {
          result.stopped.sfu = `stopped at N = ${n}: ${step.notKeptUp}`;
          break;
        }
      }
      await inPage(publisher, 'benchStopPublishing');
      await publisher.close();
    }

    // 2. Mesh: the same publisher's camera over one RTCPeerConnection per viewer, via /ws/signal.
    {
      const { vendor, session } = await goLive(server.baseUrl, 'media bench (mesh)');
      const publisher = await openPage();
      await inPage(publisher, 'benchMeshVendor', session.session_id, vendor.token, cfg.maxBitrate);
      const warm = await openPage();
      await inPage<ViewerJoin[]>(warm, 'benchMeshViewers', session.session_id, [tokens[0]], 15_000);
      await inPage(warm, 'benchCloseViewers');
      await warm.close();
      await sleep(1000);
      for (const n of cfg.sizes) {
        const viewers = await openPage();
        const joins = await inPage<ViewerJoin[]>(
          viewers,
          'benchMeshViewers',
          session.session_id,
          tokens.slice(0, n),
          cfg.joinTimeoutMs,
        );
        const step = await measure('mesh', publisher, viewers, n, joins);
        result.steps.push(step);
        await inPage(viewers, 'benchCloseViewers');
        await viewers.close();
        await sleep(2000);
        if (step.notKeptUp) {
          result.stopped.mesh = `stopped at N = ${n}: ${step.notKeptUp}`;
          break;
        }
      }
      await inPage(publisher, 'benchStopPublishing');
      await publisher.close();
    }
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await net?.close();
  }
  result.finishedAt = new Date().toISOString();
  result.loadAfter = loadAverage();

  mkdirSync(cfg.outDir, { recursive: true });
  writeFileSync(join(cfg.outDir, 'results.json'), JSON.stringify(result, null, 1));
  const charts = writeMediaCharts(result, cfg.chartsDir);
  writeFileSync(cfg.reportPath, renderMedia(result, charts, cfg.chartsLink));
  log(`  media: wrote ${cfg.reportPath} and ${charts.length} charts in ${cfg.chartsDir}`);
  return result;
}

const steps = (r: MediaResult, mode: MediaMode) => r.steps.filter((s) => s.mode === mode);
const kbps = (bytesPerSec: number) => (bytesPerSec * 8) / 1000;

export function writeMediaCharts(r: MediaResult, dir: string): [string, string][] {
  mkdirSync(dir, { recursive: true });
  const out: [string, string][] = [];
  const upload = 'Publisher upload vs viewers: SFU (Janus) and mesh';
  writeFileSync(
    join(dir, 'media-upload.svg'),
    lineChart({
      title: upload,
      xLabel: 'viewers (N)',
      yLabel: "publisher's upload, kbit/s (video + audio RTP)",
      series: (['sfu', 'mesh'] as const).map((mode) => ({
        name: mode === 'sfu' ? 'SFU (Janus)' : 'mesh (/ws/signal)',
        points: steps(r, mode).map((s) => [s.viewers, kbps(s.uploadBytesPerSec)] as [number, number]),
      })),
    }),
  );
  out.push(['media-upload.svg', upload]);
  const first = 'Time to first frame vs viewers (all N join at once)';
  writeFileSync(
    join(dir, 'media-first-frame.svg'),
    lineChart({
      title: first,
      xLabel: 'viewers (N)',
      yLabel: 'time to first frame, ms',
      series: (['sfu', 'mesh'] as const).flatMap((mode) =>
        ([0.5, 0.99] as const).map((q) => ({
          name: `${mode === 'sfu' ? 'SFU' : 'mesh'} p${q * 100}`,
          dashed: q === 0.99,
          points: steps(r, mode).map((s) => [s.viewers, quantile(s.firstFrameMs, q)] as [number, number]),
        })),
      ),
    }),
  );
  out.push(['media-first-frame.svg', first]);
  const cpu = 'Janus CPU per viewer (SFU)';
  writeFileSync(
    join(dir, 'media-janus-cpu.svg'),
    lineChart({
      title: cpu,
      xLabel: 'viewers (N)',
      yLabel: '% of one core',
      series: [
        {
          name: 'Janus CPU',
          points: steps(r, 'sfu').map((s) => [s.viewers, s.janusCpuPercent ?? NaN] as [number, number]),
        },
        {
          name: 'per viewer',
          dashed: true,
          points: steps(r, 'sfu').map(
            (s) => [s.viewers, (s.janusCpuPercent ?? NaN) / s.viewers] as [number, number],
          ),
        },
      ],
    }),
  );
  out.push(['media-janus-cpu.svg', cpu]);
  return out;
}

const f0 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(0));
const f1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(1));
const f2 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(2));
const times = (a: number, b: number | undefined) =>
  b && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : '–';

/** bench/MEDIA.md. */
export function renderMedia(r: MediaResult, charts: [string, string][], chartsLink: string): string {
  const sfu = steps(r, 'sfu');
  const mesh = steps(r, 'mesh');
  const base = (list: MediaStep[]) => list.find((s) => s.viewers === 1);
  const sfu1 = base(sfu);
  const mesh1 = base(mesh);
  const out: string[] = [
    '# Video: one publisher, N viewers, through Janus (SFU) and over the mesh',
    '',
    `Generated by \`npm run bench -- --only=media\` (bench/workloads/media.ts), ${r.startedAt} – ${r.finishedAt}, ` +
      `commit ${r.commit}. ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, Linux ${r.machine.kernel}; ` +
      `${r.machine.janus}; Chromium ${r.machine.chromium}. Load average before ${r.loadBefore}, after ${r.loadAfter}.`,
    '',
    'Janus, Chromium (one browser: the publisher in one page, all N viewers of a step as N ' +
      'RTCPeerConnections in one other page) and our server share the same cores, in a network namespace ' +
      'joined by a veth pair. The publisher sends the fake camera (640×480 asked at 30 fps, delivering about 20; VP8) and microphone ' +
      `(Opus), video capped at ${r.config.maxBitrate / 1000} kbit/s per connection in both modes. At each N, ` +
      `every viewer joins at once; after ${r.config.settleMs / 1000} s the figures are taken over a ` +
      `${r.config.windowMs / 1000} s window. Ratios are against N = 1 of the same mode in this run.`,
    '',
    '| mode | N | publisher upload kbit/s | × N=1 | first frame p50 / p99 ms | × N=1 (p50) | viewers' +
      ' decode fps (min / mean) | sent fps | Janus CPU % | Janus CPU per viewer % | Janus RSS MiB | Chromium CPU % | machine CPU % |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  if (r.idle)
    out.push(
      `| SFU | 0 | ${f0(kbps(r.idle.uploadBytesPerSec))} | – | – | – | – | – | ${f1(r.idle.janusCpuPercent)} | – | ${f0(r.idle.janusRssBytes / 2 ** 20)} | – | – |`,
    );
  for (const s of [...sfu, ...mesh]) {
    const b = s.mode === 'sfu' ? sfu1 : mesh1;
    out.push(
      `| ${s.mode === 'sfu' ? 'SFU' : 'mesh'} | ${s.viewers}${s.notKeptUp ? ' ✗' : ''} | ${f0(kbps(s.uploadBytesPerSec))} | ${times(s.uploadBytesPerSec, b?.uploadBytesPerSec)} | ` +
        `${f0(quantile(s.firstFrameMs, 0.5))} / ${f0(quantile(s.firstFrameMs, 0.99))}${s.failed ? ` (${s.failed} none)` : ''} | ` +
        `${times(quantile(s.firstFrameMs, 0.5), b ? quantile(b.firstFrameMs, 0.5) : undefined)} | ` +
        `${f1(s.viewerFpsMin)} / ${f1(s.viewerFpsMean)} | ${f1(s.sentFps)} | ${f1(s.janusCpuPercent)} | ` +
        `${s.janusCpuPercent === undefined ? '–' : f2(s.janusCpuPercent / s.viewers)} | ` +
        `${s.janusRssBytes ? f0(s.janusRssBytes / 2 ** 20) : '–'} | ${f0(s.chromiumCpuPercent)} | ${f0(s.machineCpuPercent)} |`,
    );
  }
  out.push(
    '',
    '✗: Chromium did not keep up at this N (see below); its figures are of a starved machine.',
    '',
  );
  // Conclusions come from the largest N where Chromium kept up, not from the step that stopped a ladder.
  const kept = (list: MediaStep[]) => list.filter((s) => !s.notKeptUp);
  const sfuTop = kept(sfu).at(-1);
  const meshTop = kept(mesh).at(-1);
  // Janus's marginal CPU per viewer: least-squares slope over the publisher alone and every kept-up step.
  const points: [number, number][] = [
    ...(r.idle ? [[0, r.idle.janusCpuPercent] as [number, number]] : []),
    ...kept(sfu).map((s) => [s.viewers, s.janusCpuPercent ?? NaN] as [number, number]),
  ];
  const mx = points.reduce((a, [x]) => a + x, 0) / points.length;
  const my = points.reduce((a, [, y]) => a + y, 0) / points.length;
  const marginal =
    points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) /
    points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const perMbit =
    sfuTop?.janusCpuPercent !== undefined && r.idle && sfuTop.downloadBytesPerSec
      ? (sfuTop.janusCpuPercent - r.idle.janusCpuPercent) / ((sfuTop.downloadBytesPerSec * 8) / 1e6)
      : NaN;
  const perViewerKbps = sfuTop ? kbps(sfuTop.downloadBytesPerSec / sfuTop.viewers) : NaN;
  out.push(
    '## Where each ladder stopped',
    '',
    `- SFU: ${r.stopped.sfu ?? `ran every size up to N = ${sfu.at(-1)?.viewers ?? '–'} with Chromium keeping up`}.`,
    `- Mesh: ${r.stopped.mesh ?? `ran every size up to N = ${mesh.at(-1)?.viewers ?? '–'} with Chromium keeping up`}.`,
    '',
    '## In short (largest N where Chromium kept up)',
    '',
    `- Publisher upload: SFU at N = ${sfuTop?.viewers ?? '–'} ${times(sfuTop?.uploadBytesPerSec ?? NaN, sfu1?.uploadBytesPerSec)} ` +
      `its N = 1; mesh at N = ${meshTop?.viewers ?? '–'} ${times(meshTop?.uploadBytesPerSec ?? NaN, mesh1?.uploadBytesPerSec)}.`,
    `- First frame p50 / p99: SFU at N = ${sfuTop?.viewers ?? '–'} ${f0(quantile(sfuTop?.firstFrameMs ?? [], 0.5))} / ` +
      `${f0(quantile(sfuTop?.firstFrameMs ?? [], 0.99))} ms (N = 1: ${f0(quantile(sfu1?.firstFrameMs ?? [], 0.5))}); ` +
      `mesh at N = ${meshTop?.viewers ?? '–'} ${f0(quantile(meshTop?.firstFrameMs ?? [], 0.5))} / ` +
      `${f0(quantile(meshTop?.firstFrameMs ?? [], 0.99))} ms (N = 1: ${f0(quantile(mesh1?.firstFrameMs ?? [], 0.5))}).`,
    `- Janus with the publisher alone: ${f1(r.idle?.janusCpuPercent)}% of a core, ${f0((r.idle?.janusRssBytes ?? NaN) / 2 ** 20)} MiB RSS; ` +
      `at N = ${sfuTop?.viewers ?? '–'}: ${f1(sfuTop?.janusCpuPercent)}% (${f2((sfuTop?.janusCpuPercent ?? NaN) / (sfuTop?.viewers ?? NaN))}% per viewer), ` +
      `${f0((sfuTop?.janusRssBytes ?? NaN) / 2 ** 20)} MiB. Marginal cost (slope over N = 0 and the kept-up steps): ` +
      `${f2(marginal)}% of a core per viewer at ~${f0(perViewerKbps)} kbit/s each, i.e. ${f1(perMbit)}% per Mbit/s forwarded.`,
    `- At that marginal cost one core of Janus would forward this stream to about ${marginal > 0 ? f0(100 / marginal) : '–'} viewers ` +
      "(an extrapolation: CPU only, at this bitrate, ignoring the NIC and the kernel's share of UDP sends).",
    '',
  );
  for (const [file, title] of charts) out.push(`![${title}](${chartsLink}/${file})`);
  out.push('');
  if (r.errors.length) out.push('## Errors', '', ...r.errors.map((e) => `- ${e}`), '');
  return out.join('\n');
}
