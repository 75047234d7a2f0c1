/**
 * Replays in the web app, end to end in a real Chromium with a fake camera: the vendor goes live
 * from the studio (published over WHIP to Janus, which records it) for about 12 s while a viewer
 * comments; the vendor ends the session from the studio, which links to the replay once it is
 * ready. A viewer opens the ended session's watch page and plays it: as long as what was
 * streamed, with video and audio; the comment shows when playback reaches the moment it was
 * posted; a deleted one never shows; a seek back takes the comment off, and a seek ahead plays on
 * from there (the file comes in HTTP Range responses). A seek past what a slow viewer has
 * downloaded should fetch from there with a later Range: a TODO while the replay has a single
 * key frame (see that test).
 *
 * The tests share one session and run in order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startApp, type RunningApp } from './support/app.js';
import { buildWebIfStale, goLiveInStudio, launchChromium } from './support/browser.js';
import { call, register } from './support/http.js';
import { createMediaNet, needsMedia, type MediaNet } from './support/media-net.js';
import { needsPostgres } from './support/services.js';

const skip = needsMedia() ?? needsPostgres();
const API_SECRET = 'replays-browser-api-secret';
/** How long the studio streams, from its connection's 'connected' to the end request. */
const STREAM_MS = 12_000;
/** When, after 'connected', the comment that must show in the replay is posted. */
const COMMENT_MS = 6_000;
/** When the comment that is deleted at once is posted. */
const DELETED_MS = 3_000;
const WAIT = { timeout: 30_000 };
const SAID = 'Said six seconds in';
const DELETED = 'Deleted before the end';

type Account = Awaited<ReturnType<typeof register>>;
interface Segment {
  at: string;
  offset_seconds: number;
  duration_seconds: number;
}

/**
 * Two records the pages keep, as strings (tsx's `__name` helper does not exist in a page):
 * `__connectedAt`, when a peer connection of the page first reached 'connected' (the studio's
 * publish); `__chat`, every replay comment added to or removed from the page, with the video's
 * position at that moment.
 */
const RECORD_CONNECTED = `
  window.RTCPeerConnection = new Proxy(window.RTCPeerConnection, {
    construct(target, args) {
      const pc = Reflect.construct(target, args);
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected' && !window.__connectedAt) window.__connectedAt = Date.now();
      });
      return pc;
    },
  });
`;
const RECORD_CHAT = `
  window.__chat = [];
  new MutationObserver((mutations) => {
    const video = document.querySelector('[data-testid=replay-video]');
    const at = video ? video.currentTime : -1;
    for (const mutation of mutations) {
      for (const [kind, nodes] of [['added', mutation.addedNodes], ['removed', mutation.removedNodes]]) {
        for (const node of nodes) {
          if (node.nodeType !== 1) continue;
          const items = node.matches('[data-testid=replay-comment]')
            ? [node]
            : [...node.querySelectorAll('[data-testid=replay-comment]')];
          for (const item of items) {
            window.__chat.push({
              kind,
              text: item.querySelector('.comment-text')?.textContent ?? '',
              offsetSeconds: Number(item.dataset.offsetSeconds),
              at,
            });
          }
        }
      }
    }
  }).observe(document, { childList: true, subtree: true });
`;

interface ChatEvent {
  kind: 'added' | 'removed';
  text: string;
  offsetSeconds: number;
  at: number;
}

/** Where in the file a moment of the live falls, as docs/web.md "How the chat follows the video" says. */
function fileTimeOf(ts: string, timeline: Segment[]): number {
  const at = Date.parse(ts);
  let lastEnd = 0;
  for (const [index, segment] of timeline.entries()) {
    const begins = Date.parse(segment.at);
    if (at < begins) return index === 0 ? 0 : segment.offset_seconds;
    if ((at - begins) / 1000 < segment.duration_seconds) return segment.offset_seconds + (at - begins) / 1000;
    lastEnd = segment.offset_seconds + segment.duration_seconds;
  }
  return lastEnd;
}

describe('replays in the web app', { skip, timeout: 180_000 }, () => {
  let net: MediaNet;
  let server: RunningApp;
  let browser: Browser;
  let recordings: string;
  const contexts: BrowserContext[] = [];
  /** Uncaught errors in any page: the app must have none. */
  const pageErrors: string[] = [];

  // What the tests share, in order.
  let sessionId = '';
  let studio: Page;
  let watch: Page;
  let streamedSeconds = 0;
  let said: { id: string; ts: string };
  let replay: {
    status: string;
    duration_seconds: number;
    size_bytes: number;
    url: string;
    content_type: string;
    timeline: Segment[];
  };
  /** Responses to the replay's media URL, as the watch page got them. */
  const mediaResponses: {
    status: number;
    range: string | null;
    contentRange: string | null;
    after: number;
  }[] = [];

  before(async () => {
    buildWebIfStale();
    recordings = mkdtempSync(join(tmpdir(), 'replays-browser-'));
    net = await createMediaNet();
    const janus = await net.startJanus({ apiSecret: API_SECRET });
    server = await startApp({
      host: net.hostAddress,
      store: 'postgres',
      env: { JANUS_URLS: janus.url, JANUS_API_SECRET: API_SECRET, RECORDINGS_DIR: recordings },
    });
    browser = await launchChromium({
      executablePath: net.chromiumExecutable(),
      // The replay starts playing by itself, as it does for a viewer who clicked through to it.
      args: [...net.chromiumArgs([server.baseUrl]), '--autoplay-policy=no-user-gesture-required'],
    });
  });

  afterEach(() => {
    assert.deepEqual(pageErrors.splice(0), [], 'no script errors in the pages');
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.close();
    await net?.close();
    if (recordings) rmSync(recordings, { recursive: true, force: true });
  });

  /** A person in their own browser context, signed in as `account`, at `hash`. */
  async function open(account: Account, hash: string, initScript: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    await context.addInitScript(
      (auth) => localStorage.setItem('streammeon.auth', auth),
      JSON.stringify(account),
    );
    await context.addInitScript({ content: initScript });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${hash}: ${error.message}`));
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${server.baseUrl}/${hash}`);
    return page;
  }

  const replayOf = async (id: string) =>
    (await call(server.baseUrl, 'GET', `/live/sessions/${id}/replay`)).body;
  const chat = (page: Page) => page.evaluate(() => (window as unknown as { __chat: ChatEvent[] }).__chat);
  const video = (page: Page) =>
    page.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('[data-testid=replay-video]')!;
      return { currentTime: v.currentTime, paused: v.paused, ended: v.ended, seeking: v.seeking };
    });
  const shownTexts = (page: Page) =>
    page.locator('[data-testid=replay-comment] .comment-text').allTextContents();

  it('the vendor streams about 12 s from the studio while a viewer comments, then ends it', async () => {
    const vendor = await register(server.baseUrl, 'vendor', 'Ada Vendor');
    const viewer = await register(server.baseUrl, 'user', 'Vic Viewer');
    studio = await open(vendor, '#/studio', RECORD_CONNECTED);
    assert.equal(await studio.getByTestId('record-session').isChecked(), true, 'recorded by default');
    sessionId = await goLiveInStudio(studio, 'Recorded for the replay', WAIT);
    const handle = await studio.waitForFunction(
      () => (window as unknown as { __connectedAt?: number }).__connectedAt,
      undefined,
      WAIT,
    );
    const connectedAt = (await handle.jsonValue()) as number;
    await studio.locator('[data-testid=video-path][data-mode=sfu][data-state=live]').waitFor(WAIT);
    assert.equal((await replayOf(sessionId)).status, 'recording');

    const comments = `/live/sessions/${sessionId}/comments`;
    await sleep(connectedAt + DELETED_MS - Date.now());
    const doomed = await call(server.baseUrl, 'POST', comments, {
      token: viewer.token,
      body: { message: DELETED },
    });
    assert.equal(doomed.status, 200, JSON.stringify(doomed.body));
    const removed = await call(server.baseUrl, 'DELETE', `${comments}/${doomed.body.id}`, {
      token: viewer.token,
    });
    assert.equal(removed.status, 204, JSON.stringify(removed.body));

    await sleep(connectedAt + COMMENT_MS - Date.now());
    const posted = await call(server.baseUrl, 'POST', comments, {
      token: viewer.token,
      body: { message: SAID },
    });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    said = posted.body;

    await sleep(connectedAt + STREAM_MS - Date.now());
    const endRequest = studio.waitForRequest(
      (request) => request.method() === 'POST' && request.url().endsWith('/end'),
    );
    await studio.getByTestId('end-live').click();
    await endRequest;
    streamedSeconds = (Date.now() - connectedAt) / 1000;
    await studio.getByTestId('session-ended').waitFor({ state: 'visible', ...WAIT });
  });

  it('the replay becomes ready, and the studio then links to it', async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      replay = await replayOf(sessionId);
      if (replay.status === 'ready' || replay.status === 'failed' || Date.now() > deadline) break;
      await sleep(250);
    }
    assert.equal(replay.status, 'ready', JSON.stringify(replay));
    assert.ok(replay.timeline.length >= 1, 'the replay has a timeline');
    // The studio asks every 3 s.
    const link = studio.getByTestId('replay-link');
    await link.waitFor({ state: 'visible', ...WAIT });
    assert.equal(await link.getAttribute('href'), `#/watch/${encodeURIComponent(sessionId)}`);
  });

  it('the watch page plays it: as long as what was streamed, with video and audio', async (t) => {
    // From the lobby's Replays, as a viewer finds it.
    const viewer = await register(server.baseUrl, 'user');
    watch = await open(viewer, '#/', RECORD_CHAT);
    watch.on('response', (response) => {
      if (!response.url().includes(`${replay.url}?`)) return;
      const request = response.request();
      mediaResponses.push({
        status: response.status(),
        range: request.headers().range ?? null,
        contentRange: response.headers()['content-range'] ?? null,
        after: Date.now(),
      });
    });
    const item = watch.locator(`[data-testid=replay-item][href="#/watch/${encodeURIComponent(sessionId)}"]`);
    await item.click(WAIT);
    await watch.waitForURL(new RegExp(`#/watch/${sessionId}$`), WAIT);
    await watch.locator('[data-testid=replay-state][data-status=ready]').waitFor(WAIT);
    await watch.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('[data-testid=replay-video]');
        return Boolean(v && v.videoWidth > 0 && v.currentTime > 0.5 && !v.paused);
      },
      undefined,
      WAIT,
    );
    const media = await watch.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('[data-testid=replay-video]')!;
      const stream = (v as HTMLVideoElement & { captureStream(): MediaStream }).captureStream();
      const tracks = { video: stream.getVideoTracks().length, audio: stream.getAudioTracks().length };
      stream.getTracks().forEach((track) => track.stop());
      return {
        src: v.currentSrc,
        duration: v.duration,
        videoWidth: v.videoWidth,
        audioBytes: (v as HTMLVideoElement & { webkitAudioDecodedByteCount: number })
          .webkitAudioDecodedByteCount,
        tracks,
      };
    });
    const timelineSeconds = replay.timeline.reduce((sum, segment) => sum + segment.duration_seconds, 0);
    t.diagnostic(
      `streamed ${streamedSeconds.toFixed(2)} s; replay API ${replay.duration_seconds} s, ` +
        `timeline ${timelineSeconds.toFixed(2)} s, <video>.duration ${media.duration.toFixed(2)} s`,
    );
    assert.ok(
      media.src.includes(`${replay.url}?token=`),
      `the page plays ${replay.url} with ?token= (${media.src})`,
    );
    assert.ok(
      Math.abs(media.duration - streamedSeconds) <= 1,
      `<video>.duration ${media.duration} s of ${streamedSeconds.toFixed(2)} s streamed`,
    );
    assert.ok(Math.abs(media.duration - timelineSeconds) <= 1, `the timeline covers ${timelineSeconds} s`);
    assert.ok(media.videoWidth > 0, 'video frames are decoded');
    assert.ok(media.audioBytes > 0, 'audio is decoded');
    assert.deepEqual(media.tracks, { video: 1, audio: 1 }, 'one video and one audio track');
  });

  it('the comment shows when playback reaches it (within 1 s); the deleted one never does', async (t) => {
    const expected = fileTimeOf(said.ts, replay.timeline);
    await watch.waitForFunction(
      (text) =>
        (window as unknown as { __chat: ChatEvent[] }).__chat.some(
          (event) => event.kind === 'added' && event.text === text,
        ),
      SAID,
      WAIT,
    );
    const appeared = (await chat(watch)).find((event) => event.kind === 'added' && event.text === SAID)!;
    t.diagnostic(
      `comment posted ${COMMENT_MS / 1000} s after 'connected', mapped to ${expected.toFixed(3)} s of the file ` +
        `(page: ${appeared.offsetSeconds} s); shown at currentTime ${appeared.at.toFixed(3)} s ` +
        `(error ${(appeared.at - expected).toFixed(3)} s)`,
    );
    assert.ok(Math.abs(appeared.offsetSeconds - expected) <= 0.01, 'the page maps it as the timeline says');
    assert.ok(
      Math.abs(appeared.at - expected) <= 1,
      `shown at ${appeared.at} s, posted at ${expected} s of the file`,
    );
    assert.ok(appeared.at >= expected, 'not before its moment');
    // Played to the end: the deleted comment (posted 3 s in) was never shown.
    await watch.waitForFunction(
      () => document.querySelector<HTMLVideoElement>('[data-testid=replay-video]')!.ended,
      undefined,
      WAIT,
    );
    assert.deepEqual(
      (await chat(watch)).filter((event) => event.kind === 'added').map((event) => event.text),
      [SAID],
    );
    assert.deepEqual(await shownTexts(watch), [SAID]);
  });

  it('a seek back before the comment takes it off the chat', async () => {
    await watch.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('[data-testid=replay-video]')!;
      v.currentTime = 1;
      void v.play();
    });
    await watch.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('[data-testid=replay-video]')!;
        return !v.seeking && !v.paused && v.currentTime >= 1 && v.currentTime < 3;
      },
      undefined,
      WAIT,
    );
    assert.deepEqual(await shownTexts(watch), [], 'the comment is gone at 1 s');
    assert.ok((await chat(watch)).some((event) => event.kind === 'removed' && event.text === SAID));
  });

  it('a seek to 6 s lands there and plays on, the comment with it; the file comes in 206 Range responses', async () => {
    await watch.evaluate(() => {
      document.querySelector<HTMLVideoElement>('[data-testid=replay-video]')!.currentTime = 6;
    });
    await watch.waitForFunction(
      () => !document.querySelector<HTMLVideoElement>('[data-testid=replay-video]')!.seeking,
      undefined,
      WAIT,
    );
    const landed = await video(watch);
    assert.ok(Math.abs(landed.currentTime - 6) <= 0.5, `the seek landed at ${landed.currentTime} s`);
    await watch.waitForFunction(
      () => document.querySelector<HTMLVideoElement>('[data-testid=replay-video]')!.currentTime > 6.8,
      undefined,
      WAIT,
    );
    assert.equal((await video(watch)).paused, false, 'it plays on');
    assert.deepEqual(await shownTexts(watch), [SAID], 'the comment is back once playback passes it');
    // What the browser asked for: Range requests, answered 206 with the slice and the file's size.
    assert.ok(mediaResponses.length >= 1, 'the page fetched the replay');
    for (const response of mediaResponses) {
      assert.equal(response.status, 206, JSON.stringify(response));
      const start = /^bytes=(\d+)-/.exec(response.range ?? '')?.[1];
      assert.ok(start !== undefined, `a Range request (${response.range})`);
      assert.match(response.contentRange ?? '', new RegExp(`^bytes ${start}-\\d+/${replay.size_bytes}$`));
    }
  });

  // Known gap, reported rather than hidden (todo: node:test runs it and prints the failure): a
  // slow viewer's seek past what it downloaded still reads on from the start instead of a new
  // Range request. Recorded rooms now ask the publisher for a key frame every 2 s (fir_freq), so
  // the cause is elsewhere (the WebM's clusters and cues, or Chromium's buffering), not found yet.
  it(
    'a seek ahead of what a slow viewer has downloaded fetches from there: a 206 to a later Range',
    { todo: 'a slow viewer seeking ahead gets no later Range request yet (see above)' },
    async (t) => {
      const viewer = await register(server.baseUrl, 'user');
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      contexts.push(context);
      await context.addInitScript(
        (auth) => localStorage.setItem('streammeon.auth', auth),
        JSON.stringify(viewer),
      );
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(`slow viewer: ${error.message}`));
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      const throttle = (bytesPerSecond: number) =>
        cdp.send('Network.emulateNetworkConditions', {
          offline: false,
          latency: 0,
          downloadThroughput: bytesPerSecond,
          uploadThroughput: -1,
        });
      const responses: { status: number; range: string; at: number }[] = [];
      page.on('response', (response) => {
        if (!response.url().includes(`${replay.url}?`)) return;
        responses.push({
          status: response.status(),
          range: response.request().headers().range ?? '',
          at: Date.now(),
        });
      });
      // Slow from the replay's first byte on (the app itself loads at full speed): 16 KB/s.
      await page.route(
        (url) => url.pathname === replay.url,
        async (route) => {
          await throttle(16_000);
          await route.continue();
        },
      );
      await page.goto(`${server.baseUrl}/#/watch/${sessionId}`);
      await page.waitForFunction(
        () => (document.querySelector<HTMLVideoElement>('[data-testid=replay-video]')?.readyState ?? 0) >= 1,
        undefined,
        WAIT,
      );
      const seekedAt = Date.now();
      await page.evaluate(() => {
        document.querySelector<HTMLVideoElement>('[data-testid=replay-video]')!.currentTime = 6;
      });
      const deadline = Date.now() + 5_000;
      const later = () =>
        responses.find((r) => r.at >= seekedAt && r.status === 206 && !/^bytes=0-/.test(r.range));
      while (Date.now() < deadline && !later()) await sleep(50);
      await throttle(-1);
      t.diagnostic(
        `responses to the media URL: ${JSON.stringify(responses.map((r) => ({ ...r, at: r.at - seekedAt })))}`,
      );
      assert.ok(later(), 'after the seek, a 206 answers a Range request that starts past the beginning');
    },
  );
});
