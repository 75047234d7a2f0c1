/**
 * Start-up configuration: bad values stop the service with one line naming the variable, both
 * from loadConfig and from the real entry point.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, keepDevelopmentSecret, loadConfig } from '../src/config.js';

const BASE = { NODE_ENV: 'test', DATA_DIR: 'memory://', JWT_SECRET: 'a-secret-of-sufficient-length' };

/** Calls loadConfig and returns the ConfigError it must throw. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('loadConfig accepted the environment');
}

/** Runs src/main.ts with `env` and resolves with its exit code and stderr. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.ts did not exit; stderr so far: ${stderr}`));
    }, 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('loadConfig', () => {
  test('production without JWT_SECRET is refused, naming JWT_SECRET', () => {
    const error = configError({ NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' });
    assert.equal(error.problems.length, 1);
    assert.match(error.message, /JWT_SECRET/);
  });

  test('production with a JWT_SECRET and CORS_ORIGINS loads', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(32),
      CORS_ORIGINS: 'https://app.example.com',
    });
    assert.equal(config.env, 'production');
    assert.deepEqual(config.corsOrigins, ['https://app.example.com']);
  });

  const bad: [string, string, RegExp][] = [
    ['PORT', 'abc', /^PORT\b/],
    ['PORT', '70000', /^PORT\b/],
    ['DATABASE_URL', 'mysql://root@localhost/streammeon', /^DATABASE_URL\b/],
    ['REDIS_URL', 'http://127.0.0.1:6379', /^REDIS_URL\b/],
    ['ACCESS_TTL_MIN', 'soon', /^ACCESS_TTL_MIN\b/],
    ['CORS_ORIGINS', 'not a url', /^CORS_ORIGINS\b/],
  ];
  for (const [name, value, pattern] of bad) {
    test(`${name}=${value} gives one line naming ${name}`, () => {
      const error = configError({ ...BASE, [name]: value });
      assert.equal(error.problems.length, 1, error.message);
      assert.match(error.problems[0]!, pattern);
      assert.ok(!error.problems[0]!.includes('\n'));
    });
  }

  test('every bad variable is reported at once, one line each', () => {
    const error = configError({ ...BASE, PORT: 'abc', REDIS_URL: 'http://x', DATABASE_URL: 'mysql://x/y' });
    assert.equal(error.problems.length, 3);
    assert.deepEqual(error.problems.map((line) => line.split(' ')[0]).sort(), [
      'DATABASE_URL',
      'PORT',
      'REDIS_URL',
    ]);
  });

  test('a password in a bad DATABASE_URL is not echoed', () => {
    const error = configError({ ...BASE, DATABASE_URL: 'mysql://root:hunter2@db/streammeon' });
    assert.ok(!error.message.includes('hunter2'), error.message);
  });

  test("the original's postgresql+psycopg2:// DATABASE_URL is accepted as postgresql://", () => {
    const config = loadConfig({
      ...BASE,
      DATABASE_URL: 'postgresql+psycopg2://admin@127.0.0.1:5432/streammeon',
    });
    assert.equal(config.databaseUrl, 'postgresql://admin@127.0.0.1:5432/streammeon');
  });

  test('postgres:// is accepted too', () => {
    const config = loadConfig({ ...BASE, DATABASE_URL: 'postgres://u@h:5432/d' });
    assert.equal(config.databaseUrl, 'postgres://u@h:5432/d');
  });

  test('defaults: port 8000, host 0.0.0.0, PGlite, 120-minute tokens', () => {
    const config = loadConfig(BASE);
    assert.equal(config.port, 8000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.accessTtlMin, 120);
    assert.equal(config.corsOrigins, '*');
  });

  test('each bad variable has its own line naming it, and the good ones beside it are read', () => {
    const error = configError({
      ...BASE,
      CSP_CONNECT_SRC: 'http://ok:1 bad',
      TRUST_PROXY: 'loopback,,10.0.0.0/8',
      ICE_SERVERS: '{}',
      RATE_LIMITS: 'maybe',
      RATE_LIMIT_COMMENTS: '5/1y',
      METRICS_TOKEN: 'short',
      WEBHOOK_URLS: 'http://ok ftp://bad',
      WEBHOOK_RETRY_DELAYS: '1s,1y',
      JANUS_URLS: 'ws://a ws://a',
      TURN_URLS: 'stun:x',
      RECORDINGS: 'no',
      REPLAY_JOBS: '99',
    });
    assert.deepEqual(
      error.problems.map((line) => line.split(' ')[0]).sort(),
      [
        'CSP_CONNECT_SRC',
        'ICE_SERVERS',
        'JANUS_URLS',
        'METRICS_TOKEN',
        'RATE_LIMITS',
        'RATE_LIMIT_COMMENTS',
        'RECORDINGS',
        'REPLAY_JOBS',
        'TRUST_PROXY',
        'TURN_SECRET',
        'TURN_URLS',
        'WEBHOOK_RETRY_DELAYS',
        'WEBHOOK_SECRET',
        'WEBHOOK_URLS',
      ],
      error.message,
    );
    assert.match(error.message, /CSP_CONNECT_SRC .*\(got "bad"\)/);
    assert.match(error.message, /TRUST_PROXY .*\(got ""\)/);
    assert.match(error.message, /WEBHOOK_URLS .*\(got "ftp:\/\/bad"\)/);
  });

  test('RTMP_PORT needs Janus, and RTMPS needs both its certificate and its key', () => {
    assert.match(configError({ ...BASE, RTMP_PORT: '1935' }).message, /^RTMP_PORT needs JANUS_URL/);
    const halfTls = configError({
      ...BASE,
      JANUS_URL: 'ws://janus:8188',
      RTMP_PORT: '1935',
      RTMP_TLS_CERT: 'c.pem',
    });
    assert.match(halfTls.message, /^RTMP_TLS_CERT and RTMP_TLS_KEY go together/);
    const ingest = loadConfig({ ...BASE, JANUS_URL: 'ws://janus:8188', RTMP_PORT: '1935' }).media.ingest;
    assert.equal(ingest.rtmpPort, 1935);
    assert.equal(ingest.rtmpTls, undefined);
    assert.equal(loadConfig(BASE).media.ingest.rtmpPort, undefined, 'off unless set');
  });

  test('without JWT_SECRET outside production, a made-up secret is kept in DATA_DIR and read on the next start', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'streammeon-config-'));
    try {
      const env = { NODE_ENV: 'development', DATA_DIR: dataDir };
      const first = loadConfig(env);
      assert.equal(first.jwtSecret.length, 64);
      // Parsing writes nothing: keeping it is the app's step, when it is built.
      assert.equal(existsSync(join(dataDir, 'jwt-secret')), false);
      keepDevelopmentSecret(first);
      const next = loadConfig(env);
      assert.equal(next.jwtSecret, first.jwtSecret);
      assert.equal(next.jwtSecretFile, undefined, 'nothing more to keep');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('CORS_ORIGINS is split on commas', () => {
    const config = loadConfig({ ...BASE, CORS_ORIGINS: 'http://localhost:5173, http://127.0.0.1:5173' });
    assert.deepEqual(config.corsOrigins, ['http://localhost:5173', 'http://127.0.0.1:5173']);
  });
});

describe('src/main.ts start-up', () => {
  test('production without JWT_SECRET exits non-zero with a line naming JWT_SECRET', async () => {
    const { code, stderr } = await runMain({
      NODE_ENV: 'production',
      CORS_ORIGINS: 'https://app.example.com',
      DATA_DIR: 'memory://',
      PORT: '0',
    });
    assert.notEqual(code, 0);
    assert.match(stderr, /JWT_SECRET/);
  });

  test('PORT=abc exits non-zero with a line naming PORT', async () => {
    const { code, stderr } = await runMain({ NODE_ENV: 'test', DATA_DIR: 'memory://', PORT: 'abc' });
    assert.notEqual(code, 0);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /PORT/);
  });
});
