import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EnvReader, type Env, type RateRule } from './config-reader.js';

export { parseDurations, parseRateRule, type RateRule } from './config-reader.js';

/** Everything the service reads from its environment, parsed and checked once at start-up. */
export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** `postgresql://…` for PostgreSQL; undefined selects embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** Where embedded data lives; `memory://` keeps PGlite in memory (tests). */
  dataDir: string;
  redisUrl: string | undefined;
  /** Prefix of every Redis key and channel, so deployments can share one Redis. */
  redisPrefix: string;
  jwtSecret: string;
  /**
   * Where a development secret loadConfig made up (no JWT_SECRET, files in DATA_DIR) is to be
   * kept (keepDevelopmentSecret); undefined when there is nothing to keep.
   */
  jwtSecretFile: string | undefined;
  accessTtlMin: number;
  /** `'*'` or an explicit list of allowed origins. */
  corsOrigins: '*' | string[];
  /**
   * Which direct peers are believed when they say, in X-Forwarded-For, whom they forward for
   * (Fastify's trustProxy): per-IP rate limits count that address. `true` believes anyone, which
   * lets a client exposed to the internet pick its own address and escape those limits.
   */
  trustProxy: boolean | string;
  /**
   * Extra sources the web app's pages may connect to (Content-Security-Policy `connect-src`),
   * beyond their own origin and any https:/wss: address: e.g. an http:// API address in a LAN.
   */
  cspConnectSrc: string[];
  agora: { appId: string; appCertificate: string } | undefined;
  /** RTCPeerConnection `iceServers`, served to the web app. */
  iceServers: unknown[];
  logLevel: string;
  realtime: RealtimeConfig;
  rateLimits: RateLimitConfig;
  metrics: MetricsConfig;
  webhooks: WebhookConfig;
  /** How old the shared snapshot of `GET /live/sessions/active` may be; 0 turns it off. */
  lobbySnapshotMs: number;
  media: MediaConfig;
  recordings: RecordingConfig;
}

/** Replays of sessions published through Janus (docs/replays.md). */
export interface RecordingConfig {
  /** RECORDINGS=on|off: whether sessions are recorded unless their vendor chose otherwise. */
  enabled: boolean;
  /** Where replays (and, under raw/, Janus's recordings) are kept. */
  dir: string;
  /** The same raw/ folder as Janus sees it (another path when Janus runs in a container). */
  janusDir: string;
  /** Replays older than this many days are deleted; 0 keeps them. */
  retentionDays: number;
  /** Processing jobs run at once on this instance (default 1 with JANUS_URL(S), else 0). */
  jobs: number;
  /** A job's lease: a killed instance's job is taken up again this long after its last renewal. */
  leaseSeconds: number;
}

/** Encoders that speak RTMP(S) instead of WHIP (docs/media.md). Off unless RTMP_PORT is set. */
export interface IngestConfig {
  /** RTMP_PORT: `rtmp://host:<port>/live/<stream key>`; undefined: no RTMP. */
  rtmpPort: number | undefined;
  /** RTMP_TLS_CERT and RTMP_TLS_KEY (PEM files): the RTMP port speaks RTMPS. */
  rtmpTls: { cert: string; key: string } | undefined;
  /** The FFmpeg that converts what encoders send into what browsers play (FFMPEG_PATH). */
  ffmpeg: string;
  /** The Python 3 with GStreamer's bindings that publishes it to Janus (PYTHON_PATH). */
  python: string;
}

/** Video through Janus and TURN credentials (docs/media.md). */
export interface MediaConfig {
  /** Janus WebSocket API addresses (JANUS_URLS, or JANUS_URL); empty: mesh mode. */
  janusUrls: string[];
  /** Janus's `api_secret`, sent with every request. */
  janusApiSecret: string | undefined;
  /** TURN servers for which credentials are minted (coturn `use-auth-secret`). */
  turn: TurnConfig | undefined;
  ingest: IngestConfig;
}

export interface TurnConfig {
  /** `turn:host:3478?transport=udp`, … */
  urls: string[];
  /** coturn's `static-auth-secret`. */
  secret: string;
  /** How long minted credentials work. */
  ttlSeconds: number;
}

/** `GET /metrics` (docs/metrics.md). */
export interface MetricsConfig {
  /** Bearer token `/metrics` asks for; unset: `/metrics` is 404 on the public port. */
  token: string | undefined;
  /** Serve `/metrics` on this port instead of the public one (then the token is optional). */
  port: number | undefined;
}

/** Signed webhooks delivered from the outbox (docs/webhooks.md). */
export interface WebhookConfig {
  /** Receivers; each gets every event. Empty: no events are recorded. */
  urls: string[];
  /** HMAC-SHA256 key of the `Streammeon-Signature` header. */
  secret: string;
  /** An attempt with no answer after this long failed. */
  timeoutMs: number;
  /** Waits before the 2nd, 3rd, … attempt; after the last, the event is given up. */
  retryDelaysMs: number[];
  /** How often each instance looks for events due. */
  pollMs: number;
}

/** Retry waits of a failed webhook: the first retry within 30 s, given up after about 16 h. */
export const DEFAULT_WEBHOOK_RETRY_DELAYS = '10s,30s,1m,5m,15m,30m,1h,2h,4h,8h';

/**
 * Rate limits (see docs/hardening.md). Counters live in Redis when REDIS_URL is set, so every
 * instance draws from the same budget; otherwise in memory.
 */
export interface RateLimitConfig {
  /** False only with RATE_LIMITS=off (load tests that play one abusive client on purpose). */
  enabled: boolean;
  /** Login and registration attempts from one client IP (one budget for both routes). */
  authPerIp: RateRule;
  /** Login and registration attempts naming one email, from anywhere. */
  authPerEmail: RateRule;
  /** Comments of one user, over REST and WebSocket together. */
  commentsPerUser: RateRule;
  /** Moderation actions of one user (deletions, bans, pins, settings, moderators, terms). */
  moderationPerUser: RateRule;
  /** WebSocket connections (both endpoints) opened from one client IP. */
  wsConnectsPerIp: RateRule;
}

export interface RealtimeConfig {
  /** Smallest gap between two `viewer_count` events of one session. */
  viewerCountIntervalMs: number;
  /** How often the server pings each socket; a peer that misses one ping is dropped. */
  heartbeatIntervalMs: number;
  /** A peer whose unsent bytes pass this bound is dropped. */
  maxBufferedBytes: number;
  /** How often each instance refreshes its presence counts in the shared store. */
  presenceHeartbeatMs: number;
  /** After this long without a heartbeat, an instance's viewers stop counting. */
  presenceTtlMs: number;
}

/** Thrown when the environment holds a bad value; `message` names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/**
 * Reads the configuration from `env`. Collects every problem before throwing so that one start
 * reports all bad variables, one line each. It writes nothing: a development JWT secret it had
 * to make up is kept by `keepDevelopmentSecret` when the app is built (features/services.ts).
 */
export function loadConfig(env: Env = process.env): Config {
  const read = new EnvReader(env);
  const nodeEnv = (env.NODE_ENV ?? 'development') as Config['env'];
  if (!['development', 'production', 'test'].includes(nodeEnv)) {
    read.problem(`NODE_ENV must be development, production or test (got "${env.NODE_ENV}")`);
  }
  const production = nodeEnv === 'production';
  const dataDir = env.DATA_DIR || './data';
  const janusUrls = readJanusUrls(read, env);
  const recordingsDir = resolve(
    env.RECORDINGS_DIR ||
      (dataDir.startsWith('memory://')
        ? join(tmpdir(), `streammeon-recordings-${process.pid}`)
        : join(dataDir, 'recordings')),
  );
  const config: Config = {
    env: nodeEnv,
    host: env.HOST || '0.0.0.0',
    port: read.int('PORT', 8000, 0, 65535),
    databaseUrl: parseDatabaseUrl(env.DATABASE_URL, read),
    dataDir,
    redisUrl: readRedisUrl(read),
    redisPrefix: env.REDIS_PREFIX || 'sm:',
    ...readJwtSecret(read, production, dataDir),
    accessTtlMin: read.int('ACCESS_TTL_MIN', 120, 1, 60 * 24 * 365),
    corsOrigins: readCorsOrigins(read, production),
    trustProxy: readTrustProxy(read),
    cspConnectSrc: read.list('CSP_CONNECT_SRC', {
      entry: /^(https?|wss?):\/\/[^\s/;,']+$/,
      mustBe: 'CSP_CONNECT_SRC entries must look like http://host:port or ws://host:port',
    }),
    agora: readAgora(read),
    iceServers: read.jsonArray(
      'ICE_SERVERS',
      'ICE_SERVERS must be a JSON array of RTCIceServer objects, e.g. [{"urls":"stun:host:3478"}]',
    ),
    logLevel: env.LOG_LEVEL || (nodeEnv === 'test' ? 'silent' : 'info'),
    realtime: readRealtime(read),
    rateLimits: readRateLimits(read),
    metrics: readMetrics(read),
    webhooks: readWebhooks(read),
    lobbySnapshotMs: read.int('LOBBY_SNAPSHOT_MS', 1_000, 0, 1_000),
    media: {
      janusUrls,
      janusApiSecret: env.JANUS_API_SECRET || undefined,
      turn: readTurn(read),
      ingest: readIngest(read, env, janusUrls.length > 0),
    },
    recordings: {
      enabled: read.onOff('RECORDINGS'),
      dir: recordingsDir,
      janusDir: env.JANUS_RECORDINGS_DIR || join(recordingsDir, 'raw'),
      retentionDays: read.int('RECORDINGS_RETENTION_DAYS', 30, 0, 36_500),
      // Only SFU mode records; a processing-only instance sets REPLAY_JOBS itself.
      jobs: read.int('REPLAY_JOBS', janusUrls.length > 0 ? 1 : 0, 0, 16),
      leaseSeconds: read.int('REPLAY_LEASE_SECONDS', 30, 2, 3600),
    },
  };
  if (read.problems.length) throw new ConfigError(read.problems);
  return config;
}

/** RTMP_PORT needs Janus (ingest publishes into a VideoRoom); RTMPS needs both files. */
function readIngest(read: EnvReader, env: Env, sfu: boolean): IngestConfig {
  // Set means on; 0 listens on any free port (tests).
  const rtmpPort = env.RTMP_PORT ? read.int('RTMP_PORT', 0, 0, 65535) : undefined;
  if (rtmpPort !== undefined && !sfu) read.problem('RTMP_PORT needs JANUS_URL (or JANUS_URLS)');
  const cert = env.RTMP_TLS_CERT || undefined;
  const key = env.RTMP_TLS_KEY || undefined;
  if (!cert !== !key) read.problem('RTMP_TLS_CERT and RTMP_TLS_KEY go together (PEM files)');
  return {
    rtmpPort,
    rtmpTls: cert && key ? { cert, key } : undefined,
    ffmpeg: env.FFMPEG_PATH || 'ffmpeg',
    python: env.PYTHON_PATH || '/usr/bin/python3',
  };
}

function readRedisUrl(read: EnvReader): string | undefined {
  const url = read.raw('REDIS_URL') || undefined;
  if (!url || /^rediss?:\/\//.test(url)) return url;
  read.problem(`REDIS_URL must start with redis:// or rediss:// (got "${url}")`);
  return undefined;
}

/**
 * JWT_SECRET, required in production. Elsewhere a missing one is the secret kept in DATA_DIR
 * (made up on the first start and kept by keepDevelopmentSecret when the app is built), so tokens survive restarts
 * without anyone having to invent a secret.
 */
function readJwtSecret(
  read: EnvReader,
  production: boolean,
  dataDir: string,
): Pick<Config, 'jwtSecret' | 'jwtSecretFile'> {
  const jwtSecret = read.raw('JWT_SECRET');
  if (jwtSecret) {
    if (production && jwtSecret.length < 16)
      read.problem('JWT_SECRET must be at least 16 characters when NODE_ENV=production');
    return { jwtSecret, jwtSecretFile: undefined };
  }
  if (production) {
    read.problem('JWT_SECRET is required when NODE_ENV=production (a long random string)');
    return { jwtSecret: '', jwtSecretFile: undefined };
  }
  if (dataDir.startsWith('memory://'))
    return { jwtSecret: randomBytes(32).toString('hex'), jwtSecretFile: undefined };
  const file = join(resolve(dataDir), 'jwt-secret');
  try {
    return { jwtSecret: readFileSync(file, 'utf8').trim(), jwtSecretFile: undefined };
  } catch {
    return { jwtSecret: randomBytes(32).toString('hex'), jwtSecretFile: file };
  }
}

/**
 * Keeps a development JWT secret that loadConfig made up in DATA_DIR, so the next start reads it.
 * Nothing to do when the secret was set or already kept.
 */
export function keepDevelopmentSecret(config: Config): void {
  if (!config.jwtSecretFile) return;
  mkdirSync(dirname(config.jwtSecretFile), { recursive: true });
  writeFileSync(config.jwtSecretFile, config.jwtSecret, { mode: 0o600 });
}

function readCorsOrigins(read: EnvReader, production: boolean): Config['corsOrigins'] {
  const raw = read.text('CORS_ORIGINS');
  if (!raw) {
    if (production)
      read.problem('CORS_ORIGINS is required when NODE_ENV=production (comma-separated origins, or *)');
    return '*';
  }
  if (raw === '*') return '*';
  return read.list(
    'CORS_ORIGINS',
    {
      entry: /^https?:\/\/[^/]+$/,
      mustBe: 'CORS_ORIGINS entries must look like https://host[:port]',
      separator: /,/,
      normalize: (origin) => origin.replace(/\/$/, ''),
    },
    raw,
  );
}

/** By default only proxies on this host or a private network are believed. */
function readTrustProxy(read: EnvReader): boolean | string {
  const raw = read.text('TRUST_PROXY') ?? 'loopback,linklocal,uniquelocal';
  if (raw === 'true' || raw === 'false') return raw === 'true';
  // Every entry, an empty one included (proxy-addr refuses it at start).
  for (const entry of raw.split(',').map((e) => e.trim())) {
    if (!/^(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)$/.test(entry)) {
      read.problem(
        `TRUST_PROXY must be true, false, or addresses/CIDRs/loopback,linklocal,uniquelocal separated by commas (got "${entry}")`,
      );
    }
  }
  return raw;
}

function readAgora(read: EnvReader): Config['agora'] {
  const appId = read.text('AGORA_APP_ID');
  const appCertificate = read.text('AGORA_APP_CERTIFICATE');
  if (Boolean(appId) !== Boolean(appCertificate)) {
    read.problem('AGORA_APP_ID and AGORA_APP_CERTIFICATE must be set together');
  }
  return appId && appCertificate ? { appId, appCertificate } : undefined;
}

function readRealtime(read: EnvReader): RealtimeConfig {
  return {
    viewerCountIntervalMs: read.int('VIEWER_COUNT_INTERVAL_MS', 500, 10, 60_000),
    heartbeatIntervalMs: read.int('WS_HEARTBEAT_MS', 30_000, 100, 600_000),
    maxBufferedBytes: read.int('WS_MAX_BUFFERED_BYTES', 1024 * 1024, 16 * 1024, 1024 * 1024 * 1024),
    presenceHeartbeatMs: read.int('PRESENCE_HEARTBEAT_MS', 5_000, 100, 600_000),
    presenceTtlMs: read.int('PRESENCE_TTL_MS', 20_000, 300, 3_600_000),
  };
}

/**
 * Defaults are ceilings against scripted abuse that real users (and the test suites, which run
 * everything from 127.0.0.1) never reach; docs/hardening.md suggests tighter values.
 */
function readRateLimits(read: EnvReader): RateLimitConfig {
  return {
    enabled: read.onOff('RATE_LIMITS'),
    authPerIp: read.rateRule('RATE_LIMIT_AUTH_IP', '300/1m'),
    authPerEmail: read.rateRule('RATE_LIMIT_AUTH_EMAIL', '20/5m'),
    commentsPerUser: read.rateRule('RATE_LIMIT_COMMENTS', '120/1m'),
    moderationPerUser: read.rateRule('RATE_LIMIT_MODERATION', '300/1m'),
    wsConnectsPerIp: read.rateRule('RATE_LIMIT_WS_CONNECT_IP', '3000/1m'),
  };
}

function readMetrics(read: EnvReader): MetricsConfig {
  const token = read.text('METRICS_TOKEN');
  if (token && token.length < 16) {
    read.problem('METRICS_TOKEN must be at least 16 characters (a long random string)');
  }
  return { token, port: read.text('METRICS_PORT') ? read.int('METRICS_PORT', 0, 0, 65535) : undefined };
}

function readWebhooks(read: EnvReader): WebhookConfig {
  const urls = read.list('WEBHOOK_URLS', {
    entry: /^https?:\/\/[^\s/]+/,
    mustBe: 'WEBHOOK_URLS entries must be http:// or https:// URLs',
  });
  const secret = read.raw('WEBHOOK_SECRET');
  if (urls.length > 0 && secret.length < 16) {
    read.problem(
      'WEBHOOK_SECRET is required with WEBHOOK_URLS (16+ characters; receivers check signatures with it)',
    );
  }
  return {
    urls,
    secret,
    timeoutMs: read.int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    retryDelaysMs: read.durations('WEBHOOK_RETRY_DELAYS', DEFAULT_WEBHOOK_RETRY_DELAYS),
    pollMs: read.int('WEBHOOK_POLL_MS', 1_000, 10, 60_000),
  };
}

/** JANUS_URLS, or JANUS_URL when that is unset. */
function readJanusUrls(read: EnvReader, env: Env): string[] {
  const urls = read.list(
    'JANUS_URLS',
    {
      entry: /^wss?:\/\/[^\s/]+/,
      mustBe: "JANUS_URLS / JANUS_URL entries must be ws:// or wss:// URLs of Janus's WebSocket API",
    },
    env.JANUS_URLS?.trim() ? env.JANUS_URLS : (env.JANUS_URL ?? ''),
  );
  if (new Set(urls).size !== urls.length) read.problem('JANUS_URLS lists a server twice');
  return urls;
}

function readTurn(read: EnvReader): TurnConfig | undefined {
  const urls = read.list('TURN_URLS', {
    entry: /^turns?:[^\s]+$/,
    mustBe: 'TURN_URLS entries must be turn: or turns: URLs, e.g. turn:turn.example.com:3478',
  });
  const secret = read.raw('TURN_SECRET');
  if (urls.length > 0 && secret.length < 16) {
    read.problem("TURN_SECRET is required with TURN_URLS (coturn's static-auth-secret, 16+ characters)");
  }
  if (urls.length === 0 && secret) read.problem('TURN_SECRET is set but TURN_URLS is empty');
  const ttlSeconds = read.int('TURN_TTL_SECONDS', 3600, 60, 7 * 24 * 3600);
  return urls.length > 0 && secret ? { urls, secret, ttlSeconds } : undefined;
}

/** Accepts `postgresql://`, `postgres://` and the original's SQLAlchemy `postgresql+psycopg2://`. */
function parseDatabaseUrl(raw: string | undefined, read: EnvReader): string | undefined {
  if (!raw) return undefined;
  const normalized = raw.replace(/^postgres(ql)?\+[a-z0-9]+:\/\//i, 'postgresql://');
  if (!/^postgres(ql)?:\/\//i.test(normalized)) {
    read.problem(`DATABASE_URL must start with postgresql:// (got "${raw.replace(/:[^:@/]*@/, ':***@')}")`);
    return undefined;
  }
  try {
    new URL(normalized);
  } catch {
    read.problem('DATABASE_URL is not a valid URL');
    return undefined;
  }
  return normalized;
}
