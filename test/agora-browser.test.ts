/**
 * The Agora mute/volume demo (/examples/web/) in a real Chromium with fake camera and microphone.
 * This machine cannot reach Agora, so the journey ends at the page's clear "cannot be reached"
 * error; everything before it (sign-in, tokens from our routes, camera preview, mute) is real.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startApp, type RunningApp } from './support/app.js';
import { goLive, register } from './support/http.js';
import { buildWebIfStale, launchChromium } from './support/browser.js';
import { needsChromium } from './support/services.js';

const APP_ID = '970CA35de60c44645bbae8a215061b33';
const CERTIFICATE = '5CFd2fd1755d40ecb72977518be15d3b';
const CHANNEL = '7d72365eb983485397e3e3f9d460bdda';
const PASSWORD = 'correct horse'; // what test/support/http.ts register() uses

describe('Agora demo page', { skip: needsChromium() }, () => {
  let running: RunningApp;
  let browser: Browser;

  before(async () => {
    buildWebIfStale();
    running = await startApp({ env: { AGORA_APP_ID: APP_ID, AGORA_APP_CERTIFICATE: CERTIFICATE } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await running?.close();
  });

  /** A fresh page on the demo, signed in as `email`. */
  async function signedInPage(email: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${running.baseUrl}/examples/web/`);
    await page.getByTestId('email').fill(email);
    await page.getByTestId('password').fill(PASSWORD);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('signed-in').waitFor();
    await page.getByTestId('app-id').fill(APP_ID);
    return page;
  }

  test('a viewer obtains a token, then is told clearly that Agora cannot be reached', async () => {
    const viewer = await register(running.baseUrl, 'user');
    const page = await signedInPage(viewer.user.email);
    await page.getByTestId('channel').fill(CHANNEL);
    await page.getByTestId('join').click();

    const tokenStatus = page.getByTestId('token-status');
    await tokenStatus.filter({ hasText: 'Token obtained' }).waitFor();
    assert.equal(await tokenStatus.getAttribute('data-state'), 'ok');

    const error = page.getByTestId('agora-error');
    await error.waitFor({ state: 'visible', timeout: 40_000 });
    assert.match(
      (await error.textContent()) ?? '',
      /Could not join channel .*Agora's servers could not be reached/,
    );
    await page.close();
  });

  test('a vendor who goes live gets a publisher token and previews the camera', async () => {
    const vendor = await register(running.baseUrl, 'vendor');
    const page = await signedInPage(vendor.user.email);
    await page.getByTestId('go-live').click();
    await page.getByTestId('join-status').filter({ hasText: 'You are live' }).waitFor();
    assert.equal(await page.getByTestId('role').inputValue(), 'publisher');
    await page.getByTestId('join').click();

    await page.getByTestId('token-status').filter({ hasText: 'Token obtained: publisher' }).waitFor();
    // The fake camera plays into the preview before (and whether or not) Agora answers.
    await page.getByTestId('local-video').locator('video').waitFor();
    await page.close();
  });

  test('the microphone and the camera can each be muted and unmuted', async () => {
    const vendor = await register(running.baseUrl, 'vendor');
    const page = await signedInPage(vendor.user.email);
    await page.getByTestId('go-live').click();
    await page.getByTestId('join-status').filter({ hasText: 'You are live' }).waitFor();
    await page.getByTestId('join').click();

    for (const [id, muted, unmuted] of [
      ['mute-audio', 'Unmute microphone', 'Mute microphone'],
      ['mute-video', 'Turn camera on', 'Turn camera off'],
    ] as const) {
      const button = page.getByTestId(id);
      await button.and(page.locator(':enabled')).waitFor();
      await button.click();
      await page.getByTestId(id).filter({ hasText: muted }).waitFor();
      assert.equal(await button.getAttribute('aria-pressed'), 'true');
      await button.click();
      await page.getByTestId(id).filter({ hasText: unmuted }).waitFor();
      assert.equal(await button.getAttribute('aria-pressed'), 'false');
    }
    await page.close();
  });

  test("a viewer asking to publish sees the server's reason in the error", async () => {
    const { session } = await goLive(running.baseUrl, 'not yours');
    const viewer = await register(running.baseUrl, 'user');
    const page = await signedInPage(viewer.user.email);
    await page.getByTestId('channel').fill(session.session_id);
    await page.getByTestId('role').selectOption('publisher');
    await page.getByTestId('join').click();

    const error = page.getByTestId('agora-error');
    await error.waitFor({ state: 'visible' });
    assert.match(
      (await error.textContent()) ?? '',
      /Could not get a token: role publisher is only for the vendor/,
    );
    assert.equal(await page.getByTestId('token-status').getAttribute('data-state'), 'error');
    await page.close();
  });
});
