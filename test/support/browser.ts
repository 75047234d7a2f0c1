/** Headless Chromium for browser tests, and the built web app it loads. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './server-process.js';
import { CHROMIUM } from './services.js';

/**
 * Flags for Debian's Chromium as root on a machine without network: no sandbox, no GPU, no
 * background connections (they are refused here), and a fake camera and microphone that need no
 * permission prompt.
 */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** Launches Chromium with CHROMIUM_ARGS. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Newest modification time of the files under `dir`. */
function newest(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
      entry.isDirectory() ? newest(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs,
    ),
  );
}

/**
 * Builds the web app unless dist/web holds a build newer than every source under web/. `npm test`
 * builds first; a single browser test run by hand may not have.
 */
export function buildWebIfStale(): void {
  const built = join(REPO_ROOT, 'dist/web/index.html');
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(REPO_ROOT, 'web'))) return;
  execFileSync('npm', ['run', 'build:web', '--silent'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

/**
 * In the studio: fills in a title and presses Go live once the camera is ready; resolves with the
 * session id from the page's address.
 */
export async function goLiveInStudio(page: Page, title: string, wait: { timeout: number }): Promise<string> {
  await page.getByTestId('session-title').fill(title);
  await page.waitForFunction(
    () => !document.querySelector<HTMLButtonElement>('[data-testid=go-live]')!.disabled,
    undefined,
    wait,
  );
  await page.getByTestId('go-live').click();
  await page.getByTestId('end-live').waitFor({ state: 'visible', ...wait });
  await page.waitForURL(/#\/studio\/[^/]+$/, wait);
  return decodeURIComponent(page.url().split('/').pop()!);
}
