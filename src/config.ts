import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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

/** Video through Janus and TURN credentials (docs/media.md). */
export interface MediaConfig {
  /** Janus WebSocket API addresses (JANUS_URLS, or JANUS_URL); empty: mesh mode. */
  janusUrls: string[];
  /** Janus's `api_secret`, sent with every request. */
  janusApiSecret: string | undefined;
  /** TURN servers for which credentials are minted (coturn `use-auth-secret`). */
  turn: TurnConfig | undefined;
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

/** At most `max` events per fixed window of `windowMs`. */
export interface RateRule {
  max: number;
  windowMs: number;
}

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

type Env = Record<string, string | undefined>;

/**
 * Reads the configuration from `env`. Collects every problem before throwing so that one start
 * reports all bad variables, one line each.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const nodeEnv = (env.NODE_ENV ?? 'development') as Config['env'];
  if (!['development', 'production', 'test'].includes(nodeEnv)) {
    problems.push(`NODE_ENV must be development, production or test (got "${env.NODE_ENV}")`);
  }
  const production = nodeEnv === 'production';

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };

  const dataDir = env.DATA_DIR || './data';
  const databaseUrl = parseDatabaseUrl(env.DATABASE_URL, problems);

  let redisUrl: string | undefined = env.REDIS_URL || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) {
    problems.push(`REDIS_URL must start with redis:// or rediss:// (got "${redisUrl}")`);
    redisUrl = undefined;
  }

  let jwtSecret = env.JWT_SECRET ?? '';
  if (!jwtSecret) {
    if (production) {
      problems.push('JWT_SECRET is required when NODE_ENV=production (a long random string)');
    } else {
      jwtSecret = developmentSecret(dataDir);
    }
  } else if (production && jwtSecret.length < 16) {
    problems.push('JWT_SECRET must be at least 16 characters when NODE_ENV=production');
  }

  const corsRaw = env.CORS_ORIGINS?.trim();
  let corsOrigins: Config['corsOrigins'] = '*';
  if (corsRaw && corsRaw !== '*') {
    corsOrigins = corsRaw
      .split(',')
      .map((o) => o.trim().replace(/\/$/, ''))
      .filter(Boolean);
    for (const origin of corsOrigins) {
      if (!/^https?:\/\/[^/]+$/.test(origin)) {
        problems.push(`CORS_ORIGINS entries must look like https://host[:port] (got "${origin}")`);
      }
    }
  } else if (!corsRaw && production) {
    problems.push('CORS_ORIGINS is required when NODE_ENV=production (comma-separated origins, or *)');
  }

  const cspConnectSrc = (env.CSP_CONNECT_SRC ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const source of cspConnectSrc) {
    if (!/^(https?|wss?):\/\/[^\s/;,']+$/.test(source)) {
      problems.push(
        `CSP_CONNECT_SRC entries must look like http://host:port or ws://host:port (got "${source}")`,
      );
    }
  }

  // By default only proxies on this host or a private network are believed.
  const trustRaw = env.TRUST_PROXY?.trim() || 'loopback,linklocal,uniquelocal';
  let trustProxy: boolean | string = trustRaw;
  if (trustRaw === 'true' || trustRaw === 'false') trustProxy = trustRaw === 'true';
  else {
    for (const entry of trustRaw.split(',').map((e) => e.trim())) {
      if (!/^(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)$/.test(entry)) {
        problems.push(
          `TRUST_PROXY must be true, false, or addresses/CIDRs/loopback,linklocal,uniquelocal separated by commas (got "${entry}")`,
        );
      }
    }
  }

  const appId = env.AGORA_APP_ID?.trim();
  const appCertificate = env.AGORA_APP_CERTIFICATE?.trim();
  if (Boolean(appId) !== Boolean(appCertificate)) {
    problems.push('AGORA_APP_ID and AGORA_APP_CERTIFICATE must be set together');
  }

  let iceServers: unknown[] = [];
  if (env.ICE_SERVERS) {
    try {
      const parsed: unknown = JSON.parse(env.ICE_SERVERS);
      if (!Array.isArray(parsed)) throw new Error('not an array');
      iceServers = parsed;
    } catch {
      problems.push(
        'ICE_SERVERS must be a JSON array of RTCIceServer objects, e.g. [{"urls":"stun:host:3478"}]',
      );
    }
  }

  const rule = (name: string, fallback: string): RateRule => {
    const raw = env[name]?.trim() || fallback;
    const parsed = parseRateRule(raw);
    if (parsed) return parsed;
    problems.push(
      `${name} must look like MAX/WINDOW, e.g. 20/1m or 5/500ms (MAX 1-10000000, WINDOW 100ms-24h; got "${raw}")`,
    );
    return parseRateRule(fallback) as RateRule;
  };
  const rateLimitsRaw = (env.RATE_LIMITS ?? 'on').trim().toLowerCase();
  if (!['on', 'off', ''].includes(rateLimitsRaw)) {
    problems.push(`RATE_LIMITS must be on or off (got "${env.RATE_LIMITS}")`);
  }

  const metricsToken = env.METRICS_TOKEN?.trim() || undefined;
  if (metricsToken && metricsToken.length < 16) {
    problems.push('METRICS_TOKEN must be at least 16 characters (a long random string)');
  }
  const metricsPortRaw = env.METRICS_PORT?.trim();
  const metricsPort = metricsPortRaw ? int('METRICS_PORT', 0, 0, 65535) : undefined;

  const webhookUrls = (env.WEBHOOK_URLS ?? '')
    .split(/[\s,]+/)
    .map((u) => u.trim())
    .filter(Boolean);
  for (const url of webhookUrls) {
    if (!/^https?:\/\/[^\s/]+/.test(url)) {
      problems.push(`WEBHOOK_URLS entries must be http:// or https:// URLs (got "${url}")`);
    }
  }
  const webhookSecret = env.WEBHOOK_SECRET ?? '';
  if (webhookUrls.length > 0 && webhookSecret.length < 16) {
    problems.push(
      'WEBHOOK_SECRET is required with WEBHOOK_URLS (16+ characters; receivers check signatures with it)',
    );
  }
  const retryRaw = env.WEBHOOK_RETRY_DELAYS?.trim() || DEFAULT_WEBHOOK_RETRY_DELAYS;
  let retryDelaysMs = parseDurations(retryRaw);
  if (!retryDelaysMs) {
    problems.push(
      `WEBHOOK_RETRY_DELAYS must be durations separated by commas, e.g. 10s,1m,1h (each 10ms-24h; got "${retryRaw}")`,
    );
    retryDelaysMs = parseDurations(DEFAULT_WEBHOOK_RETRY_DELAYS) ?? [];
  }

  const janusUrls = (env.JANUS_URLS?.trim() ? env.JANUS_URLS : (env.JANUS_URL ?? ''))
    .split(/[\s,]+/)
    .map((u) => u.trim())
    .filter(Boolean);
  for (const url of janusUrls) {
    if (!/^wss?:\/\/[^\s/]+/.test(url)) {
      problems.push(
        `JANUS_URLS / JANUS_URL entries must be ws:// or wss:// URLs of Janus's WebSocket API (got "${url}")`,
      );
    }
  }
  if (new Set(janusUrls).size !== janusUrls.length) problems.push('JANUS_URLS lists a server twice');
  const turnUrls = (env.TURN_URLS ?? '')
    .split(/[\s,]+/)
    .map((u) => u.trim())
    .filter(Boolean);
  for (const url of turnUrls) {
    if (!/^turns?:[^\s]+$/.test(url)) {
      problems.push(
        `TURN_URLS entries must be turn: or turns: URLs, e.g. turn:turn.example.com:3478 (got "${url}")`,
      );
    }
  }
  const turnSecret = env.TURN_SECRET ?? '';
  if (turnUrls.length > 0 && turnSecret.length < 16) {
    problems.push("TURN_SECRET is required with TURN_URLS (coturn's static-auth-secret, 16+ characters)");
  }
  if (turnUrls.length === 0 && turnSecret) problems.push('TURN_SECRET is set but TURN_URLS is empty');
  const turnTtlSeconds = int('TURN_TTL_SECONDS', 3600, 60, 7 * 24 * 3600);

  const recordingsRaw = (env.RECORDINGS ?? 'on').trim().toLowerCase();
  if (!['on', 'off', ''].includes(recordingsRaw)) {
    problems.push(`RECORDINGS must be on or off (got "${env.RECORDINGS}")`);
  }
  const recordingsDir = resolve(
    env.RECORDINGS_DIR ||
      (dataDir.startsWith('memory://')
        ? join(tmpdir(), `streammeon-recordings-${process.pid}`)
        : join(dataDir, 'recordings')),
  );

  const config: Config = {
    env: nodeEnv,
    host: env.HOST || '0.0.0.0',
    port: int('PORT', 8000, 0, 65535),
    databaseUrl,
    dataDir,
    redisUrl,
    redisPrefix: env.REDIS_PREFIX || 'sm:',
    jwtSecret,
    accessTtlMin: int('ACCESS_TTL_MIN', 120, 1, 60 * 24 * 365),
    corsOrigins,
    trustProxy,
    cspConnectSrc,
    agora: appId && appCertificate ? { appId, appCertificate } : undefined,
    iceServers,
    logLevel: env.LOG_LEVEL || (nodeEnv === 'test' ? 'silent' : 'info'),
    realtime: {
      viewerCountIntervalMs: int('VIEWER_COUNT_INTERVAL_MS', 500, 10, 60_000),
      heartbeatIntervalMs: int('WS_HEARTBEAT_MS', 30_000, 100, 600_000),
      maxBufferedBytes: int('WS_MAX_BUFFERED_BYTES', 1024 * 1024, 16 * 1024, 1024 * 1024 * 1024),
      presenceHeartbeatMs: int('PRESENCE_HEARTBEAT_MS', 5_000, 100, 600_000),
      presenceTtlMs: int('PRESENCE_TTL_MS', 20_000, 300, 3_600_000),
    },
    // Defaults are ceilings against scripted abuse that real users (and the test suites, which
    // run everything from 127.0.0.1) never reach; docs/hardening.md suggests tighter values.
    rateLimits: {
      enabled: rateLimitsRaw !== 'off',
      authPerIp: rule('RATE_LIMIT_AUTH_IP', '300/1m'),
      authPerEmail: rule('RATE_LIMIT_AUTH_EMAIL', '20/5m'),
      commentsPerUser: rule('RATE_LIMIT_COMMENTS', '120/1m'),
      moderationPerUser: rule('RATE_LIMIT_MODERATION', '300/1m'),
      wsConnectsPerIp: rule('RATE_LIMIT_WS_CONNECT_IP', '3000/1m'),
    },
    metrics: { token: metricsToken, port: metricsPort },
    webhooks: {
      urls: webhookUrls,
      secret: webhookSecret,
      timeoutMs: int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
      retryDelaysMs,
      pollMs: int('WEBHOOK_POLL_MS', 1_000, 10, 60_000),
    },
    lobbySnapshotMs: int('LOBBY_SNAPSHOT_MS', 1_000, 0, 1_000),
    media: {
      janusUrls,
      janusApiSecret: env.JANUS_API_SECRET || undefined,
      turn:
        turnUrls.length > 0 && turnSecret
          ? { urls: turnUrls, secret: turnSecret, ttlSeconds: turnTtlSeconds }
          : undefined,
    },
    recordings: {
      enabled: recordingsRaw !== 'off',
      dir: recordingsDir,
      janusDir: env.JANUS_RECORDINGS_DIR || join(recordingsDir, 'raw'),
      retentionDays: int('RECORDINGS_RETENTION_DAYS', 30, 0, 36_500),
      // Only SFU mode records; a processing-only instance sets REPLAY_JOBS itself.
      jobs: int('REPLAY_JOBS', janusUrls.length > 0 ? 1 : 0, 0, 16),
      leaseSeconds: int('REPLAY_LEASE_SECONDS', 30, 2, 3600),
    },
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

const WINDOW_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `MAX/WINDOW`, e.g. `20/1m`, `5/500ms`, `100/10s`; undefined when it is not one. */
export function parseRateRule(raw: string): RateRule | undefined {
  const match = /^(\d+)\s*\/\s*(\d+)\s*(ms|s|m|h)$/.exec(raw.trim());
  if (!match) return undefined;
  const max = Number(match[1]);
  const windowMs = Number(match[2]) * (WINDOW_UNITS[match[3] as string] as number);
  if (max < 1 || max > 10_000_000 || windowMs < 100 || windowMs > 86_400_000) return undefined;
  return { max, windowMs };
}

/** `10s,1m,1h`: durations in ms, each from 10 ms to 24 h; undefined when it is not that. */
export function parseDurations(raw: string): number[] | undefined {
  const out: number[] = [];
  for (const part of raw.split(',')) {
    const match = /^(\d+)\s*(ms|s|m|h)$/.exec(part.trim());
    if (!match) return undefined;
    const ms = Number(match[1]) * (WINDOW_UNITS[match[2] as string] as number);
    if (ms < 10 || ms > 86_400_000) return undefined;
    out.push(ms);
  }
  return out.length > 0 ? out : undefined;
}

/** Accepts `postgresql://`, `postgres://` and the original's SQLAlchemy `postgresql+psycopg2://`. */
function parseDatabaseUrl(raw: string | undefined, problems: string[]): string | undefined {
  if (!raw) return undefined;
  const normalized = raw.replace(/^postgres(ql)?\+[a-z0-9]+:\/\//i, 'postgresql://');
  if (!/^postgres(ql)?:\/\//i.test(normalized)) {
    problems.push(`DATABASE_URL must start with postgresql:// (got "${raw.replace(/:[^:@/]*@/, ':***@')}")`);
    return undefined;
  }
  try {
    new URL(normalized);
  } catch {
    problems.push('DATABASE_URL is not a valid URL');
    return undefined;
  }
  return normalized;
}

/**
 * Outside production a missing JWT_SECRET is generated once and kept in DATA_DIR, so tokens
 * survive restarts without anyone having to invent a secret.
 */
function developmentSecret(dataDir: string): string {
  if (dataDir.startsWith('memory://')) return randomBytes(32).toString('hex');
  const file = join(resolve(dataDir), 'jwt-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(resolve(dataDir), { recursive: true });
    const secret = randomBytes(32).toString('hex');
    writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  }
}
