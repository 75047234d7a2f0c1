/**
 * The web app in SFU mode, end to end in a real Chromium with a fake camera: the studio publishes
 * to Janus over WHIP and the watch pages play over WHEP (Janus, coturn and Chromium in a network
 * namespace, see support/media-net.ts). The vendor's upload does not grow with its audience; a
 * viewer's or the vendor's reload brings the video back; ending the session stops every viewer
 * and destroys the Janus room; TURN relays with the credentials /ice-servers mints, and only with
 * valid ones.
 *
 * The tests share one live session and run in order.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningApp } from './support/app.js';
import { buildWebIfStale, goLiveInStudio } from './support/browser.js';
import { call, register } from './support/http.js';
import { JanusProbe, playFromPage } from './support/media-clients.js';
import { needsMedia, turnCredentials, type CoturnProcess, type JanusProcess } from './support/media-net.js';
import { startMediaStack, type MediaStack } from './support/media-stack.js';

const skip = needsMedia();
// Generous: five Chromium pages encode and decode video at once, on what may be a busy machine.
const WAIT = { timeout: 30_000 };

type Account = Awaited<ReturnType<typeof register>>;

/**
 * Records every RTCPeerConnection the page makes on `window.__pcs`, so the test can read the
 * studio's stats. A string, not a function: tsx's `__name` helper does not exist in the page.
 */
const RECORD_PEER_CONNECTIONS = `
  window.__pcs = [];
  window.RTCPeerConnection = new Proxy(window.RTCPeerConnection, {
    construct(target, args) {
      const pc = Reflect.construct(target, args);
      window.__pcs.push(pc);
      return pc;
    },
  });
`;

describe('live video through the media server in the web app', { skip }, () => {
  let stack: MediaStack;
  let turn: CoturnProcess;
  let server: RunningApp;
  let browser: Browser;
  let probe: JanusProbe;
  /** Uncaught errors in any page: the app must have none. */
  const pageErrors: string[] = [];

  // What the tests share, in order: one live session, its studio and its viewers.
  let sessionId = '';
  let studio: Page;
  const viewers: Page[] = [];
  const viewerContexts: BrowserContext[] = [];

  before(async () => {
    buildWebIfStale();
    stack = await startMediaStack({ turn: true });
    ({ server, browser } = stack);
    turn = stack.turn as CoturnProcess;
    probe = await JanusProbe.open(stack.janus[0] as JanusProcess);
  });

  afterEach(() => {
    assert.deepEqual(pageErrors.splice(0), [], 'no script errors in the pages');
  });

  after(async () => {
    await probe?.close();
    await stack?.close();
  });

  /** A person in their own browser context, signed in as `account`, at `hash`. */
  async function open(
    account: Account,
    hash: string,
    options: { recordPeerConnections?: boolean } = {},
  ): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(
      (auth) => localStorage.setItem('streammeon.auth', auth),
      JSON.stringify(account),
    );
    if (options.recordPeerConnections) await context.addInitScript({ content: RECORD_PEER_CONNECTIONS });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${hash}: ${error.message}`));
    // Leaving a live studio asks first; a reload in these tests means it.
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${server.baseUrl}/${hash}`);
    return { page, context };
  }

  /** A viewer in a fresh browser context on the watch page of the shared session. */
  async function openViewer(): Promise<Page> {
    const account = await register(server.baseUrl, 'user');
    const { page, context } = await open(account, `#/watch/${sessionId}`);
    viewers.push(page);
    viewerContexts.push(context);
    return page;
  }

  /** The remote video has frames and its clock moves. */
  async function assertPlaying(page: Page): Promise<void> {
    await page.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('[data-testid=remote-video]');
        return Boolean(v && v.videoWidth > 0 && v.currentTime > 0);
      },
      undefined,
      WAIT,
    );
    const first = await page.evaluate(
      () => document.querySelector<HTMLVideoElement>('[data-testid=remote-video]')!.currentTime,
    );
    await page.waitForFunction(
      (t0) => document.querySelector<HTMLVideoElement>('[data-testid=remote-video]')!.currentTime > t0 + 0.3,
      first,
      WAIT,
    );
    const width = await page.evaluate(
      () => document.querySelector<HTMLVideoElement>('[data-testid=remote-video]')!.videoWidth,
    );
    assert.ok(width > 0, 'the video has frames');
  }

  /** The studio's video-path line says it sends through the media server, and sending works. */
  async function studioSending(page: Page): Promise<void> {
    await page.locator('[data-testid=video-path][data-mode=sfu][data-state=live]').waitFor(WAIT);
  }

  /**
   * The studio's outbound video rate in bytes/s over `ms`, from `getStats()` of its connected
   * peer connection (`outbound-rtp`, kind video).
   */
  async function outboundVideoRate(page: Page, ms = 3000): Promise<number> {
    return page.evaluate(async (ms) => {
      const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
      const pc = pcs.filter((candidate) => candidate.connectionState === 'connected').pop();
      if (!pc) throw new Error('the studio has no connected peer connection');
      let bytes0 = 0;
      (await pc.getStats()).forEach((report: { type: string; kind?: string; bytesSent?: number }) => {
        if (report.type === 'outbound-rtp' && report.kind === 'video') bytes0 += report.bytesSent ?? 0;
      });
      const t0 = performance.now();
      await new Promise((resolve) => setTimeout(resolve, ms));
      let bytes1 = 0;
      (await pc.getStats()).forEach((report: { type: string; kind?: string; bytesSent?: number }) => {
        if (report.type === 'outbound-rtp' && report.kind === 'video') bytes1 += report.bytesSent ?? 0;
      });
      return ((bytes1 - bytes0) * 1000) / (performance.now() - t0);
    }, ms);
  }

  /** Per connected peer connection of the page: how many video streams it sends. */
  async function videoSenders(page: Page): Promise<number[]> {
    return page.evaluate(async () => {
      const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
      const connected = pcs.filter((pc) => pc.connectionState === 'connected');
      return Promise.all(
        connected.map(async (pc) => {
          let streams = 0;
          (await pc.getStats()).forEach((report: { type: string; kind?: string }) => {
            if (report.type === 'outbound-rtp' && report.kind === 'video') streams += 1;
          });
          return streams;
        }),
      );
    });
  }

  /**
   * Waits until the studio's upload has stopped ramping up (the sender's bandwidth estimate starts
   * low and climbs for a few tens of seconds): three 1-s rates in a row within 15% of their mean,
   * or at most 20 s (on a busy machine it may never be that steady; the measurement goes ahead).
   */
  /**
   * Caps the studio's video sender at `bps`. Without a cap the upload follows the bandwidth
   * estimate, which keeps ramping up for tens of seconds on the namespace's fast link: measured a
   * minute apart, one stream could look 1.5× another. At a cap well below the link, the upload is
   * the cap times the streams sent, which is what the test compares.
   */
  async function capVideo(page: Page, bps: number): Promise<void> {
    await page.evaluate(async (bps) => {
      const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
      for (const pc of pcs.filter((candidate) => candidate.connectionState === 'connected')) {
        for (const sender of pc.getSenders()) {
          if (sender.track?.kind !== 'video') continue;
          const parameters = sender.getParameters();
          if (parameters.encodings.length === 0) parameters.encodings = [{}];
          for (const encoding of parameters.encodings) encoding.maxBitrate = bps;
          await sender.setParameters(parameters);
        }
      }
    }, bps);
  }

  async function settledUpload(page: Page): Promise<void> {
    const rates: number[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      rates.push(await outboundVideoRate(page, 1000));
      const last = rates.slice(-3);
      const mean = last.reduce((sum, rate) => sum + rate, 0) / last.length;
      if (last.length === 3 && last.every((rate) => Math.abs(rate - mean) <= 0.15 * mean)) return;
    }
    console.log(`the upload did not settle in 20 s: ${rates.map(Math.round).join(', ')} B/s`);
  }

  it('a vendor goes live from the studio and three viewers, each in their own browser, play the video', async () => {
    const vendor = await register(server.baseUrl, 'vendor', 'Ada Vendor');
    ({ page: studio } = await open(vendor, '#/studio', { recordPeerConnections: true }));
    sessionId = await goLiveInStudio(studio, 'Through the media server', WAIT);
    await studioSending(studio);

    await Promise.all([openViewer(), openViewer(), openViewer()]);
    for (const viewer of viewers) await assertPlaying(viewer);
    for (const viewer of viewers) {
      assert.equal(await viewer.getByTestId('media-state').isVisible(), false, 'no overlay over the video');
    }
  });

  it('a viewer who reloads the page gets the video back', async () => {
    const viewer = viewers[0]!;
    await viewer.reload();
    await assertPlaying(viewer);
    await viewer.locator('[data-testid=media-state]').waitFor({ state: 'hidden', ...WAIT });
  });

  it('a relay-only viewer plays through coturn with the TURN credentials from GET /ice-servers', async () => {
    const viewer = await register(server.baseUrl, 'user');
    const servers = await call(server.baseUrl, 'GET', '/ice-servers', { token: viewer.token });
    assert.equal(servers.status, 200);
    const iceServers = servers.body.ice_servers as RTCIceServer[];
    assert.ok(
      iceServers.some((entry) => String(entry.urls).startsWith('turn:')),
      'a TURN server is offered',
    );
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.baseUrl}/app-config.json`);
      const played = await playFromPage(page, sessionId, viewer.token, { relayOnly: true, iceServers });
      assert.equal(played.post, 406);
      assert.equal(played.patch, 204);
      assert.ok(played.width > 0, 'the viewer decodes video');
      assert.ok(played.advancing, 'playback advances');
      assert.equal(played.candidateType, 'relay');
    } finally {
      await context.close();
    }
  });

  it('an expired or forged TURN credential relays nothing: no video and no connected pair', async () => {
    const viewer = await register(server.baseUrl, 'user');
    const user = String(viewer.user.id);
    const expired = turnCredentials(turn.secret, user, Math.floor(Date.now() / 1000) - 60);
    const forged = turnCredentials('not-the-turn-secret', user);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.baseUrl}/app-config.json`);
      const attempts = await Promise.all(
        [expired, forged].map((credentials) =>
          playFromPage(page, sessionId, viewer.token, {
            relayOnly: true,
            iceServers: [{ urls: turn.urls, ...credentials }],
            waitMs: 8000,
          }),
        ),
      );
      for (const [name, attempt] of [
        ['expired', attempts[0]!],
        ['forged', attempts[1]!],
      ] as const) {
        assert.equal(attempt.post, 406, `${name}: the WHEP exchange itself works`);
        assert.equal(attempt.width, 0, `${name}: no video`);
        assert.notEqual(attempt.connectionState, 'connected', `${name}: not connected`);
        assert.equal(attempt.pairSucceeded, false, `${name}: no candidate pair succeeded`);
        assert.equal(
          attempt.gathered,
          0,
          `${name}: no relay allocated (TURN errors ${attempt.candidateErrors.join(',')})`,
        );
        assert.ok(
          attempt.candidateErrors.includes(401),
          `${name}: TURN said 401, got ${attempt.candidateErrors.join(',')}`,
        );
      }
    } finally {
      await context.close();
    }
  });

  it("sends the vendor's video once: its upload with three viewers stays within 1.3× of one viewer's", async () => {
    // Down to one viewer: the other two close their browsers.
    for (const context of viewerContexts.splice(1)) await context.close();
    viewers.splice(1);
    await capVideo(studio, 250_000);
    await settledUpload(studio);
    const withOne = await outboundVideoRate(studio);
    // Back to three; measured like one viewer, once the upload settled again after the key
    // frames the newcomers asked for (with the other lane's suites sharing the CPU, a window
    // that holds two key frames measured the encoder's load, not how often the video is sent).
    await Promise.all([openViewer(), openViewer()]);
    for (const viewer of viewers) await assertPlaying(viewer);
    assert.deepEqual(await videoSenders(studio), [1], 'one connection sending one video stream');
    await settledUpload(studio);
    const withThree = await outboundVideoRate(studio);
    const ratio = withThree / withOne;
    console.log(
      `vendor outbound video: ${Math.round(withOne)} B/s with 1 viewer, ${Math.round(withThree)} B/s with 3 (ratio ${ratio.toFixed(2)})`,
    );
    assert.ok(withOne > 10_000, `the studio sends video (${Math.round(withOne)} B/s)`);
    assert.ok(ratio <= 1.3, `3 viewers cost ${ratio.toFixed(2)}× the upload of 1`);
  });

  it('when the vendor reloads the studio, viewers see "reconnecting", then the video again', async () => {
    // Every state the overlay takes from now on, as it happens (it may pass quickly).
    for (const viewer of viewers) {
      await viewer.evaluate(() => {
        const overlay = document.querySelector<HTMLElement>('[data-testid=media-state]')!;
        const seen: string[] = [];
        (window as unknown as { __mediaStates: string[] }).__mediaStates = seen;
        new MutationObserver(() => {
          const state = overlay.dataset.state ?? '';
          if (seen[seen.length - 1] !== state) seen.push(state);
        }).observe(overlay, { attributes: true, attributeFilter: ['data-state'] });
      });
    }
    await studio.reload();
    await studio.getByTestId('end-live').waitFor({ state: 'visible', ...WAIT });
    await studioSending(studio);
    for (const viewer of viewers) {
      await viewer.waitForFunction(
        () => (window as unknown as { __mediaStates: string[] }).__mediaStates.includes('reconnecting'),
        undefined,
        WAIT,
      );
    }
    for (const viewer of viewers) {
      await viewer.waitForFunction(
        () => {
          const states = (window as unknown as { __mediaStates: string[] }).__mediaStates;
          return states.lastIndexOf('playing') > states.indexOf('reconnecting');
        },
        undefined,
        WAIT,
      );
      await assertPlaying(viewer);
    }
  });

  it("ending the session from the studio stops every viewer's video and destroys the Janus room", async () => {
    const room = (await server.app.media.sfu().rooms.get(sessionId))?.roomId;
    assert.ok(room !== undefined && (await probe.roomExists(room)), 'the session has a room in Janus');
    await studio.getByTestId('end-live').click();
    await studio.getByTestId('session-ended').waitFor({ state: 'visible', ...WAIT });
    for (const viewer of viewers) {
      await viewer.getByTestId('session-ended').waitFor({ state: 'visible', ...WAIT });
      const video = viewer.getByTestId('remote-video');
      assert.equal(await video.evaluate((v: HTMLVideoElement) => v.srcObject), null, 'video detached');
      assert.equal(await viewer.getByTestId('media-state').isVisible(), false, 'no media overlay');
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await probe.roomExists(room))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(await probe.roomExists(room), false, 'the Janus room is gone');
  });
});
