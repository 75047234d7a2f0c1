/**
 * Chat moderation in the web app, end to end in a real Chromium (issue 13): a moderator deletes,
 * pins and times out from the watch page and viewers see each of it; slow mode set in the studio
 * reaches viewers as a rule and a countdown; the studio's blocked terms and moderators; and a
 * viewer's socket that drops resumes with `?since=` (replayed, each once, in order) or reloads
 * over REST when it missed too much.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { startApp, type RunningApp } from './support/app.js';
import { buildWebIfStale, launchChromium } from './support/browser.js';
import { call, register } from './support/http.js';
import { needsChromium } from './support/services.js';

const WAIT = { timeout: 20_000 };

type Account = Awaited<ReturnType<typeof register>>;

describe('chat moderation in a real browser', { skip: needsChromium() }, () => {
  let server: RunningApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Uncaught errors and CSP violations in any page: the app must have none. */
  const pageErrors: string[] = [];

  before(async () => {
    buildWebIfStale();
    // The recovery test posts 501 comments as one user: the comment budget would stop it.
    server = await startApp({ env: { RATE_LIMITS: 'off' } });
    browser = await launchChromium();
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close().catch(() => undefined);
    assert.deepEqual(pageErrors.splice(0), [], 'no script errors or blocked content in the pages');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** One person in their own browser context, signed in as `account`, at `hash`. */
  async function open(account: Account, hash: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    await context.addInitScript(
      (auth) => localStorage.setItem('streammeon.auth', auth),
      JSON.stringify(account),
    );
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content.Security.Policy/i.test(message.text())) {
        pageErrors.push(message.text());
      }
    });
    await page.goto(`${server.baseUrl}/${hash}`);
    return page;
  }

  /** The chat box is usable: the session loaded and the chat opened. */
  async function chatReady(page: Page): Promise<void> {
    await page.waitForFunction(
      () => document.querySelector<HTMLInputElement>('[data-testid=comment-input]')?.disabled === false,
      undefined,
      WAIT,
    );
  }

  async function say(page: Page, message: string): Promise<void> {
    await page.getByTestId('comment-input').fill(message);
    await page.getByTestId('comment-send').click();
    await page.getByTestId('comment-list').getByText(message, { exact: true }).waitFor(WAIT);
  }

  function texts(page: Page): Promise<string[]> {
    return page.getByTestId('comment-list').locator('.comment-text').allTextContents();
  }

  function commentItem(page: Page, message: string) {
    return page
      .getByTestId('comment-list')
      .locator('.comment')
      .filter({ has: page.locator('.comment-text', { hasText: message }) });
  }

  /** Opens a comment's menu (the button shows on hover) and picks `action`. */
  async function act(page: Page, message: string, action: string): Promise<void> {
    const item = commentItem(page, message);
    await item.hover();
    await item.getByTestId('comment-actions').click();
    await item.getByTestId(action).click();
  }

  async function menuOf(page: Page, message: string): Promise<string[]> {
    const item = commentItem(page, message);
    await item.hover();
    await item.getByTestId('comment-actions').click();
    const choices = await item
      .getByTestId('comment-menu')
      .getByRole('menuitem')
      .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.testid));
    await page.keyboard.press('Escape');
    return choices as string[];
  }

  async function liveSession(vendor: Account, title: string): Promise<string> {
    const created = await call(server.baseUrl, 'POST', '/live/sessions', {
      token: vendor.token,
      body: { title },
    });
    assert.equal(created.status, 200);
    return created.body.session_id as string;
  }

  test('a moderator deletes, pins and times out from the watch page; viewers see it, and slow mode from the studio', async () => {
    const vendor = await register(server.baseUrl, 'vendor', 'Ada Host');
    const moderator = await register(server.baseUrl, 'user', 'Mo Moderator');
    const viewer = await register(server.baseUrl, 'user', 'Vi Viewer');
    const other = await register(server.baseUrl, 'user', 'Cy Other');
    const appointed = await call(server.baseUrl, 'PUT', `/me/moderators/${moderator.user.id}`, {
      token: vendor.token,
    });
    assert.equal(appointed.status, 200);
    const sessionId = await liveSession(vendor, 'Moderated market');

    const studio = await open(vendor, `#/studio/${sessionId}`);
    const mod = await open(moderator, `#/watch/${sessionId}`);
    const watcher = await open(viewer, `#/watch/${sessionId}`);
    for (const page of [studio, mod, watcher]) await chatReady(page);

    await say(watcher, 'BUY CHEAP PILLS at spam.example');
    await say(watcher, 'What a lovely stream');
    for (const page of [studio, mod]) {
      await page.getByTestId('comment-list').getByText('What a lovely stream').waitFor(WAIT);
    }

    // A viewer moderates nothing: no slow-mode choice, and only their own comments can be deleted.
    assert.equal(await watcher.getByTestId('slow-mode').isVisible(), false);
    assert.deepEqual(await menuOf(watcher, 'What a lovely stream'), ['comment-delete']);
    // The moderator (known to the page by the bans list answering them) gets every action.
    await mod.getByTestId('slow-mode').waitFor({ state: 'visible', ...WAIT });
    assert.deepEqual(await menuOf(mod, 'What a lovely stream'), [
      'comment-pin',
      'comment-delete',
      'comment-timeout',
      'comment-ban',
    ]);

    // The moderator deletes the spam: it vanishes for everyone.
    await act(mod, 'BUY CHEAP PILLS', 'comment-delete');
    for (const page of [mod, watcher, studio]) {
      await commentItem(page, 'BUY CHEAP PILLS').waitFor({ state: 'detached', ...WAIT });
      assert.deepEqual(await texts(page), ['What a lovely stream']);
    }

    // And pins the nice one: it shows above the chat for everyone.
    await act(mod, 'What a lovely stream', 'comment-pin');
    for (const page of [watcher, studio, mod]) {
      await page.getByTestId('pinned-comment').getByText('What a lovely stream').waitFor(WAIT);
    }
    assert.equal(await watcher.getByTestId('unpin').count(), 0, 'viewers cannot unpin');

    // A 10-minute timeout: the viewer learns when they can comment again on their next try.
    await act(mod, 'What a lovely stream', 'comment-timeout');
    await mod
      .getByTestId('moderation-note')
      .getByText(/Vi Viewer is timed out until/)
      .waitFor(WAIT);
    const bans = await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}/bans`, {
      token: vendor.token,
    });
    const until = bans.body.items.find((ban: { user_name: string }) => ban.user_name === 'Vi Viewer').until;
    const untilMs = new Date(until).getTime();
    assert.ok(Math.abs(untilMs - Date.now() - 600_000) < 60_000, 'ten minutes from now');
    await watcher.getByTestId('comment-input').fill('Am I still here?');
    await watcher.getByTestId('comment-send').click();
    // As the page writes a time (web/src/ui/format.ts formatTime): the time today, else with the date.
    const hhmm = await watcher.evaluate((iso) => {
      const date = new Date(iso);
      return date.toDateString() === new Date().toDateString()
        ? date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
        : date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
    }, until);
    await watcher.getByTestId('comment-wait').getByText(`You can comment again at ${hhmm}`).waitFor(WAIT);
    assert.equal(await watcher.getByTestId('comment-input').isDisabled(), true, 'the box is off');
    assert.equal(await watcher.getByTestId('comment-send').isDisabled(), true);
    const stored = await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}/comments`);
    assert.deepEqual(
      stored.body.items.map((comment: { message: string }) => comment.message),
      ['What a lovely stream'],
      'nothing was posted',
    );
    // They keep watching: the chat still reaches them.
    await say(mod, 'Keep it friendly, folks');
    await watcher.getByTestId('comment-list').getByText('Keep it friendly, folks').waitFor(WAIT);
    assert.equal(
      await commentItem(watcher, 'Keep it friendly').getByTestId('comment-actions').count(),
      0,
      "a viewer has nothing to do with someone else's comment",
    );

    // The studio lists the timeout, and can lift it.
    await studio.getByTestId('bans-refresh').click();
    const ban = studio.getByTestId('ban-list').getByTestId('ban').filter({ hasText: 'Vi Viewer' });
    await ban.waitFor(WAIT);
    await ban.getByTestId('ban-lift').click();
    await ban.waitFor({ state: 'detached', ...WAIT });
    const lifted = await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}/bans`, {
      token: vendor.token,
    });
    assert.deepEqual(lifted.body.items, []);

    // Slow mode, set in the studio: viewers see the rule, and after posting how long to wait.
    const cy = await open(other, `#/watch/${sessionId}`);
    await chatReady(cy);
    await studio.getByTestId('slow-mode').selectOption('30');
    for (const page of [cy, watcher]) {
      await page.getByTestId('slow-mode-note').getByText('Slow mode: one comment every 30 s').waitFor(WAIT);
    }
    await say(cy, 'First!');
    const wait = cy.getByTestId('comment-wait');
    await wait.getByText(/^You can comment again in \d+ s$/).waitFor(WAIT);
    const left = async () => Number(/in (\d+) s/.exec((await wait.textContent()) ?? '')?.[1]);
    const first = await left();
    assert.ok(first > 25 && first <= 30, `about 30 s to wait (${first})`);
    await cy.getByTestId('comment-input').fill('Second!');
    assert.equal(await cy.getByTestId('comment-send').isDisabled(), true, 'no sending while waiting');
    await cy.waitForFunction(
      (before) => {
        const text = document.querySelector('[data-testid=comment-wait]')?.textContent ?? '';
        return Number(/in (\d+) s/.exec(text)?.[1]) < before;
      },
      first,
      WAIT,
    );
    assert.equal(await cy.getByTestId('comment-input').inputValue(), 'Second!', 'the draft is kept');
    // The server agrees (429), and the moderator is exempt: no countdown for them.
    const refused = await call(server.baseUrl, 'POST', `/live/sessions/${sessionId}/comments`, {
      token: other.token,
      body: { message: 'Second!' },
    });
    assert.equal(refused.status, 429);
    await mod
      .getByTestId('slow-mode-note')
      .getByText(/not you: you moderate this chat/)
      .waitFor(WAIT);
    await say(mod, 'Moderators are not slowed down');
    assert.equal(await mod.getByTestId('comment-wait').isVisible(), false);
    assert.equal(await mod.getByTestId('slow-mode').inputValue(), '30', "the moderator's choice follows");

    // Turning it off ends the wait at once.
    await studio.getByTestId('slow-mode').selectOption('0');
    await wait.waitFor({ state: 'hidden', ...WAIT });
    await cy.getByTestId('slow-mode-note').waitFor({ state: 'hidden', ...WAIT });
    assert.equal(await cy.getByTestId('comment-send').isEnabled(), true);
  });

  test('the studio keeps blocked terms and moderators; a refused term is said and the draft kept', async () => {
    const vendor = await register(server.baseUrl, 'vendor', 'Bo Host');
    const viewer = await register(server.baseUrl, 'user', 'Di Viewer');
    const helper = await register(server.baseUrl, 'user', 'Ed Helper');
    const sessionId = await liveSession(vendor, 'Rules of the house');
    const studio = await open(vendor, `#/studio/${sessionId}`);
    const watcher = await open(viewer, `#/watch/${sessionId}`);
    await chatReady(studio);
    await chatReady(watcher);

    // Blocked terms, one per line.
    await studio.getByTestId('blocked-terms').fill('spoiler\n  free money  \n');
    await studio.getByTestId('blocked-terms-save').click();
    await studio.getByTestId('blocked-terms-status').getByText('Saved: 2 terms').waitFor(WAIT);
    const terms = await call(server.baseUrl, 'GET', '/me/blocked-terms', { token: vendor.token });
    assert.deepEqual(terms.body.items, ['free money', 'spoiler']);

    // A look-alike (full-width letters) is refused; the viewer is told, and keeps their text.
    const draft = 'ｆｒｅｅ ＭＯＮＥＹ for everyone';
    await watcher.getByTestId('comment-input').fill(draft);
    await watcher.getByTestId('comment-send').click();
    await watcher.getByText(/contains a word or phrase the host does not allow/).waitFor(WAIT);
    assert.equal(await watcher.getByTestId('comment-input').inputValue(), draft);
    assert.equal(await watcher.getByTestId('comment-input').isEnabled(), true);
    await say(watcher, 'Hello from Di');

    // A moderator by pasted user id, then removed.
    const moderators = studio.getByTestId('moderator-list');
    await studio.getByTestId('moderator-id').fill(String(helper.user.id));
    await studio.getByTestId('moderator-add').click();
    await moderators.getByTestId('moderator').filter({ hasText: 'Ed Helper' }).waitFor(WAIT);
    await moderators
      .getByTestId('moderator')
      .filter({ hasText: 'Ed Helper' })
      .getByTestId('moderator-remove')
      .click();
    await moderators
      .getByTestId('moderator')
      .filter({ hasText: 'Ed Helper' })
      .waitFor({ state: 'detached', ...WAIT });

    // An unknown id is said plainly.
    await studio.getByTestId('moderator-id').fill('00000000-0000-4000-8000-000000000000');
    await studio.getByTestId('moderator-add').click();
    await studio.getByTestId('moderators-status').getByText('No user has that id.').waitFor(WAIT);

    // The natural path: "Make moderator" on a comment. Then the menu stops offering it (and bans).
    assert.deepEqual(await menuOf(studio, 'Hello from Di'), [
      'comment-pin',
      'comment-delete',
      'comment-timeout',
      'comment-ban',
      'comment-make-moderator',
    ]);
    await act(studio, 'Hello from Di', 'comment-make-moderator');
    await moderators.getByTestId('moderator').filter({ hasText: 'Di Viewer' }).waitFor(WAIT);
    const listed = await call(server.baseUrl, 'GET', '/me/moderators', { token: vendor.token });
    assert.deepEqual(
      listed.body.items.map((item: { name: string }) => item.name),
      ['Di Viewer'],
    );
    assert.deepEqual(await menuOf(studio, 'Hello from Di'), ['comment-pin', 'comment-delete']);
  });

  test('a viewer whose socket drops resumes with ?since=: what it missed is replayed once, in order; too much reloads the newest over REST', async () => {
    const vendor = await register(server.baseUrl, 'vendor', 'Cal Host');
    const viewer = await register(server.baseUrl, 'user', 'Flo Viewer');
    const chatter = await register(server.baseUrl, 'user', 'Gus Chatter');
    const sessionId = await liveSession(vendor, 'Flaky network');
    const post = async (message: string) => {
      const reply = await call(server.baseUrl, 'POST', `/live/sessions/${sessionId}/comments`, {
        token: chatter.token,
        body: { message },
      });
      assert.equal(reply.status, 200);
      return reply.body as { id: string; offset: number };
    };
    const asVendor = (method: string, path: string, body?: unknown) =>
      call(server.baseUrl, method, `/live/sessions/${sessionId}${path}`, { token: vendor.token, body });

    // Every /ws/live connection of the page goes through the test, which can cut it (as a
    // restarting server would) and hold new ones off until it lets them through.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    await context.addInitScript(
      (auth) => localStorage.setItem('streammeon.auth', auth),
      JSON.stringify(viewer),
    );
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    let refusing = false;
    const sockets: WebSocketRoute[] = [];
    const urls: URL[] = [];
    await page.routeWebSocket(/\/ws\/live\//, (socket) => {
      if (refusing) return socket.close({ code: 1012, reason: 'server restarting' });
      urls.push(new URL(socket.url()));
      sockets.push(socket, socket.connectToServer());
    });
    const commentLoads: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'GET' && /\/comments(\?|$)/.test(request.url()))
        commentLoads.push(request.url());
    });
    const cut = async () => {
      refusing = true;
      for (const socket of sockets.splice(0)) await socket.close({ code: 1012, reason: 'server restarting' });
      await page.getByTestId('connection-note').waitFor({ state: 'visible', ...WAIT });
    };

    await page.goto(`${server.baseUrl}/#/watch/${sessionId}`);
    await chatReady(page);
    const hello = await post('one');
    await page.getByTestId('comment-list').getByText('one', { exact: true }).waitFor(WAIT);
    assert.equal(urls.length, 1);
    assert.equal(urls[0]!.searchParams.get('since'), null, 'a first connection has nothing to resume');
    assert.equal(commentLoads.length, 1, 'the first connection loads the recent comments once');

    // Cut: comments, a deletion, a pin and slow mode happen meanwhile.
    await cut();
    await post('two');
    const three = await post('three');
    await post('four');
    assert.equal((await asVendor('DELETE', `/comments/${three.id}`)).status, 204);
    const two = (await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}/comments`)).body.items.find(
      (comment: { message: string }) => comment.message === 'two',
    );
    assert.equal((await asVendor('PUT', '/pin', { comment_id: two.id })).status, 200);
    assert.equal((await asVendor('PATCH', '/chat', { slow_mode_seconds: 10 })).status, 200);
    refusing = false;

    await page.getByTestId('connection-note').waitFor({ state: 'hidden', ...WAIT });
    await page.getByTestId('comment-list').getByText('four', { exact: true }).waitFor(WAIT);
    await page.getByTestId('pinned-comment').getByText('two').waitFor(WAIT);
    await page.getByTestId('slow-mode-note').getByText('one comment every 10 s').waitFor(WAIT);
    assert.deepEqual(await texts(page), ['one', 'two', 'four'], 'each once, in order, the deleted one gone');
    const resumed = urls.at(-1)!;
    assert.equal(
      resumed.searchParams.get('since'),
      String(hello.offset),
      'resumed from the last offset seen',
    );
    assert.equal(commentLoads.length, 1, 'no REST catch-up: the socket replayed it');

    // Live again: a new comment arrives, and the next reconnect resumes from the newest offset.
    assert.equal((await asVendor('PATCH', '/chat', { slow_mode_seconds: 0 })).status, 200);
    const five = await post('five');
    await page.getByTestId('comment-list').getByText('five', { exact: true }).waitFor(WAIT);
    assert.deepEqual(await texts(page), ['one', 'two', 'four', 'five']);

    // Missing more than the server replays (501 events): the newest 50 comments over REST.
    await cut();
    assert.equal((await asVendor('DELETE', '/pin')).status, 204);
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => post(`filler ${batch * 50 + i}`)));
    }
    refusing = false;
    await page.getByTestId('connection-note').waitFor({ state: 'hidden', ...WAIT });
    assert.equal(urls.at(-1)!.searchParams.get('since'), String(five.offset));
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=comment-list] .comment').length === 50,
      undefined,
      WAIT,
    );
    const shown = await texts(page);
    const newest = (
      await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}/comments?limit=50`)
    ).body.items.map((comment: { message: string }) => comment.message);
    assert.deepEqual(shown, newest, 'exactly the newest 50, in order, nothing older and nothing twice');
    assert.equal(commentLoads.length, 2, 'one REST reload after recovered {complete: false}');
    // The pin as session_info says it is now (unpinned while away).
    assert.equal(await page.getByTestId('pinned-comment').isVisible(), false);
  });
});
