import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
}

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
      wsConnectsPerIp: rule('RATE_LIMIT_WS_CONNECT_IP', '3000/1m'),
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
