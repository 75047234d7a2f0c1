/**
 * WHIP and WHEP clients that run inside a Chromium page (fake camera), for the media suites,
 * and a janode probe that looks at Janus from the outside (rooms, handles).
 */
import Janode from 'janode';
import VideoRoomPlugin from 'janode/plugins/videoroom';
import type { Page } from 'playwright-core';
import { teardown } from './teardown.js';

export interface PagePublish {
  status: number;
  location: string | null;
  etag: string | null;
  link: string | null;
  body: string;
}

/**
 * In the page: camera and microphone, a sendonly offer with every candidate, POSTed to `path`
 * with `token`; when 201, the answer is applied and the connection kept on `window.whip`.
 */
export function publishFromPage(page: Page, path: string, token: string): Promise<PagePublish> {
  return page.evaluate(
    async ({ path, token }) => {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: 640, height: 480 },
        audio: true,
      });
      const pc = new RTCPeerConnection();
      for (const track of stream.getTracks())
        pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') resolve();
        });
        setTimeout(resolve, 2000);
      });
      const response = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
        body: pc.localDescription?.sdp ?? '',
      });
      const body = await response.text();
      if (response.status === 201) {
        await pc.setRemoteDescription({ type: 'answer', sdp: body });
        (window as unknown as { whip: RTCPeerConnection }).whip = pc;
      } else pc.close();
      return {
        status: response.status,
        location: response.headers.get('location'),
        etag: response.headers.get('etag'),
        link: response.headers.get('link'),
        body,
      };
    },
    { path, token },
  );
}

/** In the page: waits until the WHIP connection is connected; resolves its state. */
export function whipConnected(page: Page): Promise<string> {
  // Polled rather than listened for: a named callback here would meet tsx's __name helper,
  // which the page does not have.
  return page.evaluate(async () => {
    const pc = (window as unknown as { whip: RTCPeerConnection }).whip;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !['connected', 'failed', 'closed'].includes(pc.connectionState)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return pc.connectionState;
  });
}

/** A recvonly offer made in the page (what a WHEP player sends first). */
export function playerOffer(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const offer = await pc.createOffer();
    pc.close();
    return offer.sdp ?? '';
  });
}

/** What a page's WHEP attempt saw. */
export interface PagePlay {
  post: number;
  patch: number;
  width: number;
  advancing: boolean;
  /** The local candidate type of the nominated pair (`host`, `relay`, …), or null. */
  candidateType: string | null;
  connectionState: string;
  /** Whether any candidate pair succeeded (a TURN refusal leaves none). */
  pairSucceeded: boolean;
  /** Local candidates gathered (relay only: the TURN allocations that succeeded). */
  gathered: number;
  /** The error codes of `icecandidateerror` events (a TURN server's 401 for bad credentials). */
  candidateErrors: number[];
  /** When the first frame showed (the wall clock in ms, to within 20 ms); 0: none. */
  firstFrameAt: number;
}

/**
 * In the page: the whole WHEP exchange (offer → 406 counter-offer → PATCH answer) and playback
 * into a <video>; waits up to `waitMs` (default 15 s) for frames, then reports what it saw. With
 * relay only, a gathering that ended with no relay candidate cannot connect: no wait then.
 */
export function playFromPage(
  page: Page,
  sessionId: string,
  token: string,
  options: { relayOnly?: boolean; iceServers?: RTCIceServer[]; waitMs?: number } = {},
): Promise<PagePlay> {
  return page.evaluate(
    async ({ sessionId, token, relayOnly, iceServers, waitMs }) => {
      const auth = { authorization: `Bearer ${token}` };
      const probe = new RTCPeerConnection();
      probe.addTransceiver('video', { direction: 'recvonly' });
      probe.addTransceiver('audio', { direction: 'recvonly' });
      const offer = (await probe.createOffer()).sdp ?? '';
      probe.close();
      const post = await fetch(`/live/sessions/${sessionId}/whep`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', ...auth },
        body: offer,
      });
      const counter = await post.text();
      if (post.status !== 406) {
        return {
          post: post.status,
          patch: 0,
          width: 0,
          advancing: false,
          candidateType: null,
          connectionState: 'new',
          pairSucceeded: false,
          gathered: 0,
          candidateErrors: [],
          firstFrameAt: 0,
        };
      }
      const location = post.headers.get('location') ?? '';
      const pc = new RTCPeerConnection({
        iceServers: iceServers ?? [],
        iceTransportPolicy: relayOnly ? 'relay' : 'all',
      });
      let gathered = 0;
      const candidateErrors: number[] = [];
      pc.addEventListener('icecandidate', (event) => {
        if (event.candidate) gathered += 1;
      });
      pc.addEventListener('icecandidateerror', (event) => {
        candidateErrors.push(event.errorCode);
      });
      const video = document.createElement('video');
      video.muted = true;
      video.autoplay = true;
      document.body.append(video);
      pc.addEventListener('track', (event) => {
        video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
      });
      await pc.setRemoteDescription({ type: 'offer', sdp: counter });
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') resolve();
        });
        setTimeout(resolve, 2000);
      });
      const patch = await fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': 'application/sdp', ...auth },
        body: pc.localDescription?.sdp ?? '',
      });
      const hopeless = relayOnly && gathered === 0 && pc.iceGatheringState === 'complete';
      const deadline = Date.now() + (hopeless ? 0 : waitMs);
      while (Date.now() < deadline && video.videoWidth === 0) await new Promise((r) => setTimeout(r, 20));
      const firstFrameAt = video.videoWidth ? performance.timeOrigin + performance.now() : 0;
      const before = video.currentTime;
      await new Promise((r) => setTimeout(r, 1000));
      let candidateType: string | null = null;
      let pairSucceeded = false;
      const stats = await pc.getStats();
      stats.forEach(
        (report: { type: string; state?: string; nominated?: boolean; localCandidateId?: string }) => {
          if (report.type === 'candidate-pair' && report.state === 'succeeded') pairSucceeded = true;
          if (report.type === 'candidate-pair' && report.state === 'succeeded' && report.nominated) {
            const local = stats.get(report.localCandidateId ?? '') as { candidateType?: string } | undefined;
            candidateType = local?.candidateType ?? null;
          }
        },
      );
      (window as unknown as { whep: RTCPeerConnection[] }).whep ??= [];
      (window as unknown as { whep: RTCPeerConnection[] }).whep.push(pc);
      return {
        post: post.status,
        patch: patch.status,
        width: video.videoWidth,
        advancing: video.currentTime > before,
        candidateType,
        connectionState: pc.connectionState,
        pairSucceeded,
        gathered,
        candidateErrors,
        firstFrameAt,
      };
    },
    {
      sessionId,
      token,
      relayOnly: options.relayOnly ?? false,
      iceServers: options.iceServers,
      waitMs: options.waitMs ?? 15_000,
    },
  );
}

/** Looks at a Janus server from outside: does a room exist, how many handles are attached. */
export class JanusProbe {
  private constructor(
    private readonly api: Awaited<ReturnType<typeof Janode.connect>>,
    private readonly admin: Awaited<ReturnType<typeof Janode.connect>> & {
      listSessions(): Promise<{ sessions: number[] }>;
      listHandles(session: number): Promise<{ handles: number[] }>;
    },
  ) {}

  static async open(janus: { url: string; apiSecret: string; adminUrl: string; adminSecret: string }) {
    Janode.Logger.setLevel('none');
    // Bounded handshakes, so that a Janus that stopped answering cannot hold close() for 30 s.
    const ws_options = { handshakeTimeout: 3_000, closeTimeout: 1_000 };
    const api = await Janode.connect({ address: { url: janus.url, apisecret: janus.apiSecret }, ws_options });
    const admin = await Janode.connect({
      address: { url: janus.adminUrl, apisecret: janus.adminSecret },
      is_admin: true,
      ws_options,
    });
    return new JanusProbe(api, admin as never);
  }

  async roomExists(room: number): Promise<boolean> {
    const session = await this.api.create();
    try {
      const handle = await session.attach(VideoRoomPlugin);
      const { exists } = await handle.exists({ room });
      await handle.detach();
      return exists;
    } finally {
      await session.destroy().catch(() => {});
    }
  }

  /** Handles attached across every Janus session but this probe's own. */
  async handles(): Promise<number> {
    const { sessions } = await this.admin.listSessions();
    let total = 0;
    for (const session of sessions) total += (await this.admin.listHandles(session)).handles.length;
    return total;
  }

  /** Closes both connections, bounded (teardown.ts). */
  close(): Promise<void> {
    return teardown([
      { name: 'janus-probe.api', run: () => this.api.close().catch(() => {}) },
      { name: 'janus-probe.admin', run: () => this.admin.close().catch(() => {}) },
    ]);
  }
}
