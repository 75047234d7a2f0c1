/**
 * The servers under test, each started as its own process and prepared with one live session:
 * ours (src/main.ts, as deployed) and the three baselines. Every target answers the same
 * trigger (`POST /live/sessions/{id}/comments`), so the poster and generators treat them alike.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../../test/support/databases.js';
import { goLive, register } from '../../test/support/http.js';
import { startService, type Service } from './proc.js';
import type { ViewerProtocol } from './protocol.js';

export type TargetName = 'streammeon' | 'socketio' | 'ws-naive' | 'ws-preframed';

export const TARGETS: readonly TargetName[] = ['streammeon', 'socketio', 'ws-naive', 'ws-preframed'];

export const LABELS: Record<TargetName, string> = {
  streammeon: 'Streammeon',
  socketio: 'Socket.IO 4 room',
  'ws-naive': 'ws, send() per socket',
  'ws-preframed': 'ws, pre-framed write',
};

/** A started target with one live session, ready for viewers and comments. */
export interface Running {
  name: TargetName;
  /** One service, or two for the multi-instance run (viewers spread, comments to the first). */
  services: Service[];
  sessionId: string;
  protocol: ViewerProtocol;
  /** Viewer URLs per service; connection i uses urls[i % length]. */
  viewerUrls: string[][];
  /** Tokens the poster rotates through. */
  postTokens: string[];
  /** The session's vendor (our server only): may open more sessions. */
  vendorToken?: string;
  /** What the server stores in: for the report. */
  storage: string;
  stop(): Promise<void>;
}

export interface OursOptions {
  instances?: number;
  redisUrl?: string;
  /** Use a throwaway PostgreSQL database (needs DATABASE_URL); otherwise PGlite in a temp dir. */
  postgres: boolean;
  /** How many distinct viewer users to register; their tokens are reused across connections. */
  viewerUsers?: number;
  nodeFlags?: string[];
  lifetimeMs: number;
  /** More environment for the server (e.g. LOBBY_SNAPSHOT_MS=0 to measure without the snapshot). */
  env?: Record<string, string>;
  /** Another checkout of this repository to run instead of this one (`--compare=<ref>`). */
  root?: string;
}

const JWT_SECRET = 'bench-secret-0123456789abcdef';

/** Starts N instances of our server on one shared database, goes live, registers viewers. */
export async function startOurs(options: OursOptions): Promise<Running> {
  const services: Service[] = [];
  let database: ThrowawayDatabase | undefined;
  let dataDir: string | undefined;
  const cleanup = async () => {
    await Promise.allSettled(services.map((s) => s.stop()));
    await database?.drop().catch(() => {});
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    if (options.postgres) database = await createThrowawayDatabase('sm_bench');
    else dataDir = mkdtempSync(join(tmpdir(), 'sm-bench-'));
    const env = {
      NODE_ENV: 'production',
      CORS_ORIGINS: '*',
      LOG_LEVEL: 'warn',
      JWT_SECRET,
      DATABASE_URL: database?.url ?? '',
      DATA_DIR: dataDir,
      REDIS_URL: options.redisUrl ?? '',
      // The limiter stays on (its cost is part of every comment and connect), but its ceilings
      // are raised: 10,000 viewers from one IP and hundreds of comments/s from one poster are
      // the point of a benchmark, not abuse.
      RATE_LIMITS: 'on',
      RATE_LIMIT_COMMENTS: '10000000/1m',
      RATE_LIMIT_WS_CONNECT_IP: '10000000/1m',
      ...options.env,
    };
    for (let i = 0; i < (options.instances ?? 1); i += 1) {
      services.push(
        await startService({
          name: `streammeon#${i + 1}`,
          script: 'src/main.ts',
          cwd: options.root,
          env,
          readyPath: '/health',
          nodeFlags: options.nodeFlags,
          lifetimeMs: options.lifetimeMs,
        }),
      );
    }
    const first = services[0]!.baseUrl;
    const { vendor, session } = await goLive(first, 'bench live');
    const viewers = await Promise.all(
      Array.from({ length: options.viewerUsers ?? 4 }, (_, i) => register(first, 'user', `viewer-${i}`)),
    );
    const poster = await register(first, 'user', 'poster');
    return {
      name: 'streammeon',
      services,
      sessionId: session.session_id,
      protocol: 'live',
      viewerUrls: services.map((s) =>
        viewers.map(
          (v) =>
            `ws://127.0.0.1:${s.port}/ws/live/${session.session_id}?token=${encodeURIComponent(v.token)}`,
        ),
      ),
      postTokens: [poster.token],
      vendorToken: vendor.token,
      storage: database ? 'PostgreSQL' : 'PGlite',
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Starts one baseline process with a made-up session id (baselines accept any). */
export async function startBaseline(
  name: Exclude<TargetName, 'streammeon'>,
  options: { lifetimeMs: number; nodeFlags?: string[] },
): Promise<Running> {
  const service = await startService({
    name,
    script: `bench/baselines/${name}.ts`,
    env: {},
    readyPath: '/health',
    nodeFlags: options.nodeFlags,
    lifetimeMs: options.lifetimeMs,
  });
  const sessionId = randomUUID();
  const url =
    name === 'socketio'
      ? `ws://127.0.0.1:${service.port}/socket.io/?EIO=4&transport=websocket&session=${sessionId}`
      : `ws://127.0.0.1:${service.port}/ws/live/${sessionId}`;
  return {
    name,
    services: [service],
    sessionId,
    protocol: name === 'socketio' ? 'eio' : 'ws',
    viewerUrls: [[url]],
    postTokens: ['none'],
    storage: 'none',
    stop: () => service.stop(),
  };
}

export function startTarget(
  name: TargetName,
  options: {
    lifetimeMs: number;
    postgres: boolean;
    nodeFlags?: string[];
    viewerUsers?: number;
    root?: string;
  },
): Promise<Running> {
  return name === 'streammeon' ? startOurs(options) : startBaseline(name, options);
}
