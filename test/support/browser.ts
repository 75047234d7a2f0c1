/** Headless Chromium for browser tests, and the built web app it loads. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type LaunchOptions, type Page } from 'playwright-core';
import { REPO_ROOT } from './server-process.js';
import { CHROMIUM } from './services.js';
import { boundedStep } from './teardown.js';

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

/** Pids of this process's own children (Playwright starts Chromium as one, in its own group). */
function childPids(): Set<number> {
  const pids = new Set<number>();
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      const children = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8');
      for (const pid of children.split(' ').filter(Boolean)) pids.add(Number(pid));
    } catch {
      // the thread ended meanwhile
    }
  }
  return pids;
}

/** SIGKILLs the process groups led by `pids` (Playwright starts Chromium detached: a group). */
function killGroups(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Launches Chromium (default: CHROMIUM with CHROMIUM_ARGS) whose close() is bounded.
 *
 * Playwright's close() waits until every process holding Chromium's output pipes has exited, so
 * one helper that hangs (a renderer stuck tearing down WebRTC on a loaded machine) holds it, and
 * the suite's after() hook, forever: that is how test/media-browser.test.ts hung CI (issue 25).
 * Past TEARDOWN_STEP_MS the browser's process group is SIGKILLed, which is what close() ends
 * with anyway; the overrun is logged as `teardown: browser.close …` and close() then resolves,
 * since the browser is gone either way.
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  return boundClose(() => chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, ...options }));
}

/** Launches with `launch` and bounds the result's close() (see launchChromium). */
async function boundClose<T extends Browser | BrowserContext>(launch: () => Promise<T>): Promise<T> {
  const before = childPids();
  const launched = await launch();
  const groups = [...childPids()].filter((pid) => !before.has(pid));
  const close = launched.close.bind(launched);
  launched.close = (closeOptions) =>
    boundedStep({
      name: 'browser.close',
      run: () => close(closeOptions),
      force: () => killGroups(groups),
    }).catch((error: unknown) => console.error(String(error)));
  return launched;
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
