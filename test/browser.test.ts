/**
 * The web app end to end in a real Chromium: a vendor goes live with a (fake) camera, two viewers
 * watch over WebRTC, comments flow both ways and render as text, and ending the session reaches
 * everyone. Writes studio.png and watch.png to test-output/screenshots/, or with UPDATE_SCREENSHOTS=1
 * to docs/screenshots/ (the README's pictures), so an ordinary run leaves the work tree clean.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { startApp, type RunningApp } from './support/app.js';
import { call, goLive, register as registerByApi } from './support/http.js';
import { buildWebIfStale, goLiveInStudio, launchChromium } from './support/browser.js';
import { REPO_ROOT } from './support/server-process.js';
import { needsChromium } from './support/services.js';

/** Refreshing the README's pictures is a deliberate act; every other run writes to an ignored folder. */
const updateScreenshots = process.env.UPDATE_SCREENSHOTS === '1';
const screenshots = join(REPO_ROOT, updateScreenshots ? 'docs/screenshots' : 'test-output/screenshots');
const docsScreenshots = join(REPO_ROOT, 'docs/screenshots');

/** File name → SHA-256 of each file in `dir`. */
function fingerprints(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir).map((name) => [
      name,
      createHash('sha256')
        .update(readFileSync(join(dir, name)))
        .digest('hex'),
    ]),
  );
}

const WAIT = { timeout: 20_000 };

describe('web app in a real browser', { skip: needsChromium() }, () => {
  let server: RunningApp;
  /** One Chromium for the file; each person gets a context of their own in it. */
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Uncaught errors and CSP violations in any page: the app must have none. */
  const pageErrors: string[] = [];
  const startedAt = Date.now();
  const docsBefore = fingerprints(docsScreenshots);

  before(async () => {
    // `npm test` builds the pages first; a single file run by hand may not have.
    buildWebIfStale();
    server = await startApp();
    browser = await launchChromium({ headless: false }); // --headless=new in its args
  });

  afterEach(() => {
    assert.deepEqual(pageErrors.splice(0), [], 'no script errors or blocked content in the pages');
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
  });

  /** A fresh context (its own storage and cookies): one person on one device. */
  async function openBrowser(colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content.Security.Policy/i.test(message.text())) {
        pageErrors.push(message.text());
      }
    });
    return page;
  }

  const password = 'correct horse battery';

  /** Registers through the sign-in page; returns the email, to sign in elsewhere with. */
  async function register(page: Page, role: 'vendor' | 'user', name: string): Promise<string> {
    const email = `${name.toLowerCase().replace(/\W+/g, '.')}.${Date.now()}@example.com`;
    await page.goto(`${server.baseUrl}/#/login`);
    await page.getByTestId('show-register').click();
    await page.getByTestId('name').fill(name);
    await page.getByTestId('role').selectOption(role);
    await page.getByTestId('email').fill(email);
    await page.getByTestId('password').fill(password);
    await page.getByTestId('register-submit').click();
    return email;
  }

  async function signIn(page: Page, email: string): Promise<void> {
    await page.goto(`${server.baseUrl}/#/login`);
    await page.getByTestId('email').fill(email);
    await page.getByTestId('password').fill(password);
    await page.getByTestId('login-submit').click();
  }

  /** The local camera preview shows frames. */
  async function assertPreview(page: Page): Promise<void> {
    await page.waitForFunction(
      () => document.querySelector<HTMLVideoElement>('[data-testid=local-video]')!.videoWidth > 0,
      undefined,
      WAIT,
    );
  }

  /** The remote video has frames and its clock moves. */
  async function assertPlaying(page: Page): Promise<void> {
    const video = page.getByTestId('remote-video');
    await page.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('[data-testid=remote-video]');
        return Boolean(v && v.videoWidth > 0 && v.currentTime > 0);
      },
      undefined,
      WAIT,
    );
    const first = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
    await page.waitForFunction(
      (t0) => document.querySelector<HTMLVideoElement>('[data-testid=remote-video]')!.currentTime > t0 + 0.3,
      first,
      WAIT,
    );
    assert.ok((await video.evaluate((v: HTMLVideoElement) => v.videoWidth)) > 0);
  }

  async function commentTexts(page: Page): Promise<string[]> {
    return page.getByTestId('comment-list').locator('.comment-text').allTextContents();
  }

  test('a vendor streams to two viewers who comment, until the vendor ends it', async () => {
    const title = 'Morning market: fresh produce, live'; // the server is fresh: no other session has it

    // 1. The vendor registers and goes live.
    const vendor = await openBrowser('dark');
    await register(vendor, 'vendor', 'Ada Vendor');
    await goLiveInStudio(vendor, title, WAIT);
    await assertPreview(vendor);

    // Two viewers register and open the session from the lobby.
    const viewers: Page[] = [];
    for (const name of ['Bea Viewer', 'Cal Viewer']) {
      const viewer = await openBrowser();
      await register(viewer, 'user', name);
      await viewer.waitForURL(/#\/lobby$/, WAIT);
      const card = viewer
        .getByTestId('session-list')
        .locator('[data-testid=session-card]', { hasText: title });
      await card.click(WAIT);
      await viewer.waitForURL(/#\/watch\//, WAIT);
      viewers.push(viewer);
    }
    const [viewer1, viewer2] = viewers as [Page, Page];

    // 2. Each viewer's video really plays.
    await assertPlaying(viewer1);
    await assertPlaying(viewer2);

    // 3. The vendor sees two viewers now and two unique views.
    await vendor.getByTestId('viewer-count').filter({ hasText: /^2$/ }).waitFor(WAIT);
    await vendor.getByTestId('views-total').filter({ hasText: /^2$/ }).waitFor(WAIT);

    // 4. A comment reaches the vendor and the other viewer.
    const hello = 'Hello from Bea! Lovely stream.';
    await viewer1.getByTestId('comment-input').fill(hello);
    await viewer1.getByTestId('comment-send').click();
    for (const page of [vendor, viewer2, viewer1]) {
      await page.getByTestId('comment-list').getByText(hello).waitFor(WAIT);
    }

    // HTML in a comment is shown as text and never runs.
    const hostile = '<img src=x onerror="window.__pwned = true"> nice try';
    for (const page of [vendor, viewer1, viewer2]) await page.evaluate(() => delete (window as any).__pwned);
    await viewer1.getByTestId('comment-input').fill(hostile);
    await viewer1.getByTestId('comment-send').click();
    for (const page of [vendor, viewer2, viewer1]) {
      await page.getByTestId('comment-list').getByText(hostile, { exact: true }).waitFor(WAIT);
    }
    const vendorReply = 'Thanks for watching, both of you!';
    await vendor.getByTestId('comment-input').fill(vendorReply);
    await vendor.getByTestId('comment-send').click();
    await viewer2.getByTestId('comment-list').getByText(vendorReply).waitFor(WAIT);
    for (const page of [vendor, viewer1, viewer2]) {
      assert.equal(await page.evaluate(() => (window as any).__pwned), undefined, 'onerror never ran');
      assert.equal(await page.getByTestId('comment-list').locator('img').count(), 0, 'no img element');
      assert.deepEqual(await commentTexts(page), [hello, hostile, vendorReply]);
    }

    // 5b. A viewer's taps float up on the other viewer's video, from the server's aggregated
    // event, and add up in the vendor's studio. (Here rather than in a test of its own: three
    // more people in the browser cost this file more than the check itself.)
    for (let i = 0; i < 3; i++) await viewer1.getByTestId('react-heart').click();
    await viewer1.getByTestId('react-fire').click();
    await viewer2
      .locator('.reaction-floater[data-kind=heart]')
      .first()
      .waitFor({ state: 'attached', ...WAIT });
    await vendor.getByTestId('reaction-total-heart').filter({ hasText: /^3$/ }).waitFor(WAIT);
    await vendor.getByTestId('reaction-total-fire').filter({ hasText: /^1$/ }).waitFor(WAIT);
    // Floaters live 2 s: none in the screenshots.
    for (const page of viewers)
      await page.waitForFunction(() => !document.querySelector('.reaction-floater'), undefined, WAIT);

    // 5c. The vendor asks a poll from the studio; both viewers vote on the watch page (one changes
    // their mind) and everyone sees the tallies move; the vendor ends it and everyone sees the results.
    await vendor.getByTestId('poll-question-input').fill('Apples or pears next?');
    await vendor.getByTestId('poll-option-input-0').fill('Apples');
    await vendor.getByTestId('poll-option-input-1').fill('Pears');
    await vendor.getByTestId('poll-open').click();
    await vendor.getByTestId('poll-end').waitFor(WAIT);
    for (const viewer of viewers)
      await viewer.getByTestId('poll-question').filter({ hasText: 'Apples or pears next?' }).waitFor(WAIT);
    await viewer1.getByTestId('poll-option-0').click();
    await viewer1.getByTestId('poll-status').filter({ hasText: 'Vote counted' }).waitFor(WAIT);
    await viewer1.getByTestId('poll-option-1').click();
    await viewer1.locator('.poll-option.chosen [data-testid=poll-option-1]').waitFor(WAIT);
    await viewer2.getByTestId('poll-option-1').click();
    for (const page of [vendor, ...viewers]) {
      await page
        .getByTestId('poll-votes-1')
        .filter({ hasText: /^100% · 2$/ })
        .waitFor(WAIT);
      await page
        .getByTestId('poll-total')
        .filter({ hasText: /^2 votes$/ })
        .waitFor(WAIT);
    }
    await vendor.getByTestId('poll-end').click();
    for (const page of [vendor, ...viewers])
      await page.locator('[data-testid=poll-state][data-status=closed]').waitFor(WAIT);
    assert.equal(await viewer2.getByTestId('poll-option-0').count(), 0, 'no voting on a closed poll');

    // 6. Screenshots for the README, with the stream, counts and chat on screen.
    mkdirSync(screenshots, { recursive: true });
    for (const page of [vendor, viewer2]) {
      await page.evaluate(() => {
        (document.activeElement as HTMLElement | null)?.blur();
        window.scrollTo(0, 0);
      });
    }
    await vendor.screenshot({ path: join(screenshots, 'studio.png') });
    await viewer2.screenshot({ path: join(screenshots, 'watch.png') });

    // 5. The vendor ends the session: both viewers see it end and their video stops.
    await vendor.getByTestId('end-live').click();
    await vendor.getByTestId('session-ended').waitFor({ state: 'visible', ...WAIT });
    // The studio sums the live up: two viewers at once at the peak, three comments.
    const summary = vendor.getByTestId('session-summary');
    await summary.waitFor({ state: 'visible', ...WAIT });
    assert.equal(await summary.getByTestId('summary-peak').textContent(), '2');
    assert.equal(await summary.getByTestId('summary-comments').textContent(), '3');
    for (const viewer of viewers) {
      await viewer.getByTestId('session-ended').waitFor({ state: 'visible', ...WAIT });
      const video = viewer.getByTestId('remote-video');
      assert.equal(await video.evaluate((v: HTMLVideoElement) => v.srcObject), null, 'video detached');
      const t0 = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
      await viewer.waitForTimeout(600);
      assert.equal(await video.evaluate((v: HTMLVideoElement) => v.currentTime), t0, 'video clock stopped');
      assert.equal(await viewer.getByTestId('comment-input').isDisabled(), true, 'chat closed');
      assert.equal(await viewer.getByTestId('viewer-count').isVisible(), false, 'no stale "2 watching"');
      await viewer.getByTestId('views-total').filter({ hasText: /^2$/ }).waitFor(WAIT);
    }
  });

  test('an ended session opens in its ended state, with no "watching" count', async () => {
    const { vendor, session } = await goLive(server.baseUrl, 'Already over');
    const ended = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, {
      token: vendor.token,
    });
    assert.equal(ended.status, 200);
    const page = await openBrowser();
    await register(page, 'user', 'Gil Late');
    await page.waitForURL(/#\/lobby$/, WAIT);
    await page.goto(`${server.baseUrl}/#/watch/${session.session_id}`);
    await page.getByTestId('session-ended').waitFor({ state: 'visible', ...WAIT });
    assert.equal(await page.getByTestId('viewer-count').isVisible(), false, 'no "watching" figure');
    assert.equal(await page.getByTestId('views-total').isVisible(), true, 'the total stays');
  });

  test('the comment box counts characters as the server does and refuses, saying so, what is too long', async () => {
    const { session } = await goLive(server.baseUrl, 'Long comments');
    const comments = async () =>
      (await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}/comments`)).body.items as {
        message: string;
      }[];
    const page = await openBrowser();
    await register(page, 'user', 'Hal Verbose');
    await page.waitForURL(/#\/lobby$/, WAIT);
    await page.goto(`${server.baseUrl}/#/watch/${session.session_id}`);
    const input = page.getByTestId('comment-input');
    const send = page.getByTestId('comment-send');
    const counter = page.getByTestId('comment-counter');
    await page.waitForFunction(
      // The chat appears once the session has loaded.
      () => document.querySelector<HTMLInputElement>('[data-testid=comment-input]')?.disabled === false,
      undefined,
      WAIT,
    );

    // 501 emoji are 1,002 UTF-16 units but 501 characters, as the server counts them: they go.
    const emoji = '😀'.repeat(501);
    await input.fill(emoji);
    await counter.filter({ hasText: /^501\/1000$/ }).waitFor(WAIT);
    assert.equal(await send.isEnabled(), true, 'within the limit');
    await send.click();
    await page.getByTestId('comment-list').getByText(emoji).waitFor(WAIT);

    // One character too many: said plainly, not cut, and not sent (by button or by Enter).
    const tooLong = 'a'.repeat(1001);
    await input.fill(tooLong);
    await counter.filter({ hasText: /1001\/1000: 1 character over the limit/ }).waitFor(WAIT);
    assert.equal(await counter.isVisible(), true);
    assert.equal(await send.isDisabled(), true, 'send refused');
    await input.press('Enter');
    await page.waitForTimeout(500);
    assert.equal(await input.inputValue(), tooLong, 'the text is kept whole');
    assert.deepEqual(
      (await comments()).map((comment) => comment.message),
      [emoji],
      'nothing more posted',
    );

    // At the limit it goes, exactly as typed.
    const longest = 'b'.repeat(1000);
    await input.fill(longest);
    await counter.filter({ hasText: /^1000\/1000$/ }).waitFor(WAIT);
    await send.click();
    await page.getByTestId('comment-list').getByText(longest).waitFor(WAIT);
    assert.deepEqual(
      (await comments()).map((comment) => comment.message),
      [emoji, longest],
    );
    assert.equal(await counter.isVisible(), false, 'the counter goes with the sent text');
  });

  test('a vendor opening the studio on a second device is offered their running stream, to resume or end', async () => {
    const title = 'Two devices, one stream';
    const first = await openBrowser();
    const email = await register(first, 'vendor', 'Ida Vendor');
    const sessionId = await goLiveInStudio(first, title, WAIT);

    // Others went live since, so the stream is on the second page of /live/sessions/active.
    const other = await registerByApi(server.baseUrl, 'vendor', 'Busy Vendor');
    const othersSessions: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const created = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          call(server.baseUrl, 'POST', '/live/sessions', {
            token: other.token,
            body: { title: `Filler ${batch * 20 + i}` },
          }),
        ),
      );
      othersSessions.push(...created.map((reply) => reply.body.session_id as string));
    }
    const firstPage = await call(server.baseUrl, 'GET', '/live/sessions/active?limit=200');
    assert.ok(firstPage.body.next_cursor, 'more than one page of live sessions');
    assert.ok(!firstPage.body.items.some((s: { session_id: string }) => s.session_id === sessionId));

    // The same vendor signs in on a second device: the studio offers the running stream.
    const second = await openBrowser();
    await signIn(second, email);
    await second.waitForURL(/#\/studio$/, WAIT);
    const offer = second.getByTestId('running-session');
    await offer.getByText(`You are live: ${title}`).waitFor(WAIT);
    assert.equal(await offer.getAttribute('data-session-id'), sessionId);
    assert.equal(await second.getByTestId('go-live').isVisible(), false, 'not an empty "Ready to go live?"');

    // Resume: the live studio for that session, sending video from here, with its chat.
    await offer.getByTestId('resume-live').click();
    await second.waitForURL(`**/#/studio/${sessionId}`, WAIT);
    await second.getByTestId('end-live').waitFor({ state: 'visible', ...WAIT });
    await assertPreview(second);
    await first
      .getByTestId('connection-note')
      .filter({ hasText: 'now being sent from another tab or device' })
      .waitFor(WAIT);
    const viewer = await openBrowser();
    await register(viewer, 'user', 'Jo Viewer');
    await viewer.waitForURL(/#\/lobby$/, WAIT);
    await viewer.goto(`${server.baseUrl}/#/watch/${sessionId}`);
    await assertPlaying(viewer);
    await second.getByTestId('connected-peers').filter({ hasText: /^1$/ }).waitFor(WAIT);
    await viewer.getByTestId('comment-input').fill('Still there?');
    await viewer.getByTestId('comment-send').click();
    await second.getByTestId('comment-list').getByText('Still there?').waitFor(WAIT);

    // Opening the plain studio again offers it again; this time the vendor ends it.
    await second.evaluate(() => (location.hash = '#/studio'));
    await second.getByTestId('end-running').click(WAIT);
    await second.getByTestId('go-live').waitFor({ state: 'visible', ...WAIT });
    assert.equal(await second.getByTestId('running-session').count(), 0);
    const ended = await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}`);
    assert.equal(ended.body.is_live, false);
    await first.getByTestId('session-ended').waitFor({ state: 'visible', ...WAIT });
    await viewer.getByTestId('session-ended').waitFor({ state: 'visible', ...WAIT });

    // Tidy up, so the lobby of later tests is not two hundred streams long.
    for (const id of othersSessions) {
      await call(server.baseUrl, 'POST', `/live/sessions/${id}/end`, { token: other.token });
    }
  });

  test('a refused sign-in sends the viewer back to sign in, saying why', async () => {
    const { session } = await goLive(server.baseUrl, 'Token check');
    const page = await openBrowser();
    const forged = {
      token: 'not.a.valid-token',
      user: { id: 1, email: 'x@example.com', name: 'X', role: 'user' },
    };
    await page.context().addInitScript((auth) => {
      if (!sessionStorage.getItem('seeded')) localStorage.setItem('streammeon.auth', auth);
      sessionStorage.setItem('seeded', '1');
    }, JSON.stringify(forged));
    await page.goto(`${server.baseUrl}/#/watch/${session.session_id}`);
    await page.waitForURL(/#\/login$/, WAIT);
    await page.getByText('Your sign-in has expired').waitFor(WAIT);
    assert.equal(await page.evaluate(() => localStorage.getItem('streammeon.auth')), null);
  });

  test('a viewer whose connection drops catches up on missed comments, each shown once', async () => {
    const { session } = await goLive(server.baseUrl, 'Reconnect check');
    const commenter = await registerByApi(server.baseUrl, 'user', 'Eve Early');
    const say = async (message: string) => {
      const reply = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
        token: commenter.token,
        body: { message },
      });
      assert.equal(reply.status, 200);
    };

    // Every /ws/live connection of this page goes through the test, which can cut it like a
    // restarting server would (1012) and refuse new ones until it lets them through again.
    const page = await openBrowser();
    let refusing = false;
    const connected: WebSocketRoute[] = [];
    await page.routeWebSocket(/\/ws\/live\//, (socket) => {
      if (refusing) return socket.close({ code: 1012, reason: 'server restarting' });
      connected.push(socket, socket.connectToServer());
    });
    await register(page, 'user', 'Finn Viewer');
    await page.waitForURL(/#\/lobby$/, WAIT);
    await page.goto(`${server.baseUrl}/#/watch/${session.session_id}`);
    await page.getByTestId('comment-input').waitFor(WAIT);

    await say('before the drop');
    await page.getByTestId('comment-list').getByText('before the drop').waitFor(WAIT);

    refusing = true;
    for (const socket of connected.splice(0)) await socket.close({ code: 1012, reason: 'server restarting' });
    await page.getByTestId('connection-note').waitFor({ state: 'visible', ...WAIT });
    await say('while you were away');
    refusing = false;

    await page.getByTestId('comment-list').getByText('while you were away').waitFor(WAIT);
    await page.getByTestId('connection-note').waitFor({ state: 'hidden', ...WAIT });
    assert.deepEqual(await commentTexts(page), ['before the drop', 'while you were away']);

    // And the live socket works again: a new comment arrives without a reload.
    await say('back live');
    await page.getByTestId('comment-list').getByText('back live').waitFor(WAIT);
    assert.deepEqual(await commentTexts(page), ['before the drop', 'while you were away', 'back live']);
  });

  // Runs after the test that takes the screenshots (tests in a describe run in order).
  test(
    'the run writes its screenshots to an ignored folder and leaves docs/screenshots as committed',
    { skip: updateScreenshots && 'UPDATE_SCREENSHOTS=1 refreshes docs/screenshots on purpose' },
    () => {
      for (const name of ['studio.png', 'watch.png']) {
        const file = join(screenshots, name);
        assert.ok(existsSync(file) && statSync(file).mtimeMs >= startedAt, `${file} written by this run`);
      }
      assert.deepEqual(fingerprints(docsScreenshots), docsBefore, 'docs/screenshots unchanged');
      if (existsSync(join(REPO_ROOT, '.git'))) {
        // Exits non-zero (and so throws) unless .gitignore covers the folder.
        execFileSync('git', ['check-ignore', '--quiet', join(screenshots, 'studio.png')], { cwd: REPO_ROOT });
      }
    },
  );
});

describe('the web app as served by the API server', () => {
  let server: RunningApp;
  const iceServers = [{ urls: 'stun:stun.example.org:3478' }];

  before(async () => {
    buildWebIfStale();
    server = await startApp({ env: { ICE_SERVERS: JSON.stringify(iceServers) } });
  });

  after(async () => {
    await server?.close();
  });

  test('/app-config.json hands the pages the ICE servers from ICE_SERVERS, and mesh mode without Janus', async () => {
    const reply = await call(server.baseUrl, 'GET', '/app-config.json');
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { ice_servers: iceServers, media: 'mesh', turn: false });
  });

  test('the page is revalidated and runs only its own scripts; hashed assets are cached for good', async () => {
    const page = await fetch(`${server.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /object-src 'none'/);
    const html = await page.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'the page loads a built script');
    const asset = await fetch(server.baseUrl + script);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    await asset.arrayBuffer(); // an unread body keeps the connection busy and stalls server.close()
  });
});
