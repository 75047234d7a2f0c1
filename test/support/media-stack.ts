/**
 * What every media suite starts: a network namespace with Janus (one or more) and, if asked,
 * coturn; our server in SFU mode on the namespace's host-side address; and a Chromium inside the
 * namespace that may load the server's pages.
 */
import type { Browser } from 'playwright-core';
import { startApp, type RunningApp } from './app.js';
import { launchChromium } from './browser.js';
import { createMediaNet, type CoturnProcess, type JanusProcess, type MediaNet } from './media-net.js';
import { teardown } from './teardown.js';

export interface MediaStack {
  net: MediaNet;
  janus: JanusProcess[];
  /** coturn, when started with `turn: true`; its secret is TURN_SECRET of the server. */
  turn: CoturnProcess | undefined;
  server: RunningApp;
  browser: Browser;
  /**
   * Stops the browser, the server, and everything in the namespace, each step bounded (see
   * teardown.ts): a step that hangs fails the hook by name, and the namespace still goes.
   * Safe after a failed start.
   */
  close(): Promise<void>;
}

export interface MediaStackOptions {
  /** How many Janus servers (JANUS_URLS); default 1. */
  janusServers?: number;
  /** Start coturn and mint credentials for it (TURN_URLS, TURN_SECRET). */
  turn?: boolean;
  /** More environment for the server (RECORDINGS_DIR, REPLAY_JOBS, …). */
  env?: Record<string, string>;
}

/** The api_secret every Janus of a stack shares (JANUS_API_SECRET is one value). */
const API_SECRET = 'media-stack-api-secret';
const TURN_SECRET = 'media-stack-turn-secret';

export async function startMediaStack(options: MediaStackOptions = {}): Promise<MediaStack> {
  const net = await createMediaNet();
  const stack: Partial<MediaStack> & { net: MediaNet } = { net };
  const close = () =>
    teardown([
      stack.browser && { name: 'browser.close', run: () => stack.browser?.close() },
      // Bounded inside (startApp's app.close); this outer bound only backs it up.
      stack.server && { name: 'server', run: () => stack.server?.close(), ms: 30_000 },
      { name: 'namespace', run: () => net.close() },
    ]);
  try {
    const janus: JanusProcess[] = [];
    for (let i = 0; i < (options.janusServers ?? 1); i++)
      janus.push(await net.startJanus({ apiSecret: API_SECRET }));
    const turn = options.turn ? await net.startCoturn({ secret: TURN_SECRET }) : undefined;
    const server = await startApp({
      host: net.hostAddress,
      env: {
        JANUS_URLS: janus.map((j) => j.url).join(','),
        JANUS_API_SECRET: API_SECRET,
        ...(turn ? { TURN_URLS: turn.urls.join(','), TURN_SECRET } : {}),
        ...options.env,
      },
    });
    stack.server = server;
    const browser = await launchChromium({
      executablePath: net.chromiumExecutable(),
      args: net.chromiumArgs([server.baseUrl]),
    });
    stack.browser = browser;
    return { net, janus, turn, server, browser, close };
  } catch (error) {
    await close().catch((closing: unknown) => console.error(String(closing)));
    throw error;
  }
}
