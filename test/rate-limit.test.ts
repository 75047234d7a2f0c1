/**
 * Rate limits: each one answers 429 with Retry-After and `{detail}` (or a `rate_limited` event on
 * the WebSocket) once its budget is spent, and lets the caller in again after the window. Run with
 * counters in memory (no Redis), where the app's clock jumps past a window instead of the test
 * waiting it out, and in Redis (PostgreSQL + Redis, real windows: Redis keeps the time), where two
 * instances must share one budget.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { RedisLimiter } from '../src/limits/limiter-redis.js';
import { startApp, type RunningApp, type StoreKind } from './support/app.js';
import { createThrowawayDatabase } from './support/databases.js';
import { call, goLive, register, type Reply } from './support/http.js';
import { freePort } from './support/server-process.js';
import { needsPostgres, needsRedis } from './support/services.js';
import { jumpingClock } from './support/clock.js';
import { sleep, TestSocket } from './support/ws.js';

interface Mode {
  name: string;
  skip: string | undefined;
  /** Unset: PostgreSQL when DATABASE_URL is set, else PGlite (the store is not what is tested). */
  store?: StoreKind;
  /** Counters in Redis: its clock, not the app's, ends a window. */
  redis: boolean;
  env: () => Record<string, string>;
}

const MODES: Mode[] = [
  { name: 'counters in memory', skip: undefined, redis: false, env: () => ({}) },
  {
    name: 'counters in Redis',
    skip: needsPostgres() ?? needsRedis(),
    store: 'postgres',
    redis: true,
    env: () => ({
      REDIS_URL: process.env.REDIS_URL as string,
      REDIS_PREFIX: `sm-rl-test-${crypto.randomUUID().slice(0, 8)}:`,
    }),
  },
];

/** Asserts a 429 in the API's shape and returns its Retry-After in seconds. */
function assertLimited(res: Reply, detailPattern: RegExp): number {
  assert.equal(res.status, 429, JSON.stringify(res.body));
  assert.match(res.body.detail, detailPattern);
  assert.match(res.body.detail, /try again in \d+ s/);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${res.headers.get('retry-after')}`);
  return retryAfter;
}

/** The HTTP answer to a WebSocket upgrade the server refused. */
function refusedUpgrade(url: string): Promise<{ status: number; retryAfter: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'],
          body: JSON.parse(text),
        }),
      );
    });
    ws.once('error', () => undefined);
  });
}

const unknownLogin = (base: string, email = `nobody-${crypto.randomUUID()}@example.com`) =>
  call(base, 'POST', '/auth/login', { body: { email, password: 'wrong password' } });

for (const mode of MODES) {
  describe(`rate limits, ${mode.name}`, { skip: mode.skip }, () => {
    const running: RunningApp[] = [];
    const sockets: TestSocket[] = [];
    const start = async (env: Record<string, string>) => {
      const clock = jumpingClock();
      const server = await startApp({
        store: mode.store,
        env: { ...mode.env(), ...env },
        deps: mode.redis ? undefined : { clock },
      });
      running.push(server);
      /** Past the window that Retry-After announced. */
      const waitOut = async (retryAfterSeconds: number) => {
        if (mode.redis) await sleep(retryAfterSeconds * 1000 + 200);
        else clock.jump(retryAfterSeconds * 1000 + 200);
      };
      return { ...server, waitOut };
    };
    after(async () => {
      for (const s of sockets) s.close();
      await Promise.all(running.map((s) => s.close()));
    });

    test('login and registration share one budget per client IP; 429 until the window passes', async () => {
      const { baseUrl, waitOut } = await start({ RATE_LIMIT_AUTH_IP: '3/3s' });
      assert.equal((await unknownLogin(baseUrl)).status, 400);
      assert.equal((await unknownLogin(baseUrl)).status, 400);
      const registered = await call(baseUrl, 'POST', '/auth/register', {
        body: { email: `ip-${crypto.randomUUID()}@example.com`, name: 'Ip', password: 'pw' },
      });
      assert.equal(registered.status, 200);
      // Every email is new: only the per-IP budget can refuse these.
      const retryAfter = assertLimited(await unknownLogin(baseUrl), /from your address/);
      assertLimited(
        await call(baseUrl, 'POST', '/auth/register', {
          body: { email: `ip-${crypto.randomUUID()}@example.com`, name: 'Ip', password: 'pw' },
        }),
        /from your address/,
      );
      // A correct password does not get past the limit either.
      assertLimited(
        await call(baseUrl, 'POST', '/auth/login', {
          body: { email: registered.body.user.email, password: 'pw' },
        }),
        /from your address/,
      );
      await waitOut(retryAfter);
      const again = await call(baseUrl, 'POST', '/auth/login', {
        body: { email: registered.body.user.email, password: 'pw' },
      });
      assert.equal(again.status, 200);
    });

    test('attempts naming one email are limited in any letter case, other emails are not', async () => {
      const server = await start({ RATE_LIMIT_AUTH_EMAIL: '3/3s' });
      const { baseUrl } = server;
      const user = await register(baseUrl);
      const email = user.user.email;
      // The registration was the first attempt naming this email.
      assert.equal((await unknownLogin(baseUrl, email)).status, 400);
      assert.equal((await unknownLogin(baseUrl, `  ${email.toUpperCase()} `)).status, 400);
      const retryAfter = assertLimited(await unknownLogin(baseUrl, email), /for this email/);
      // The owner with the right password waits too: that is what stops guessing.
      assertLimited(
        await call(baseUrl, 'POST', '/auth/login', { body: { email, password: 'correct horse' } }),
        /for this email/,
      );
      // Registering the same email again counts against the same budget.
      assertLimited(
        await call(baseUrl, 'POST', '/auth/register', { body: { email, name: 'Again', password: 'pw' } }),
        /for this email/,
      );
      assert.equal((await unknownLogin(baseUrl)).status, 400, 'another email is not affected');
      await server.waitOut(retryAfter);
      const ok = await call(baseUrl, 'POST', '/auth/login', { body: { email, password: 'correct horse' } });
      assert.equal(ok.status, 200);
      if (server.config.redisUrl) {
        // The shared counters do not hold anyone's email address.
        const redis = new Redis(server.config.redisUrl);
        try {
          const keys = await redis.keys(`${server.config.redisPrefix}rl:*`);
          assert.ok(
            keys.some((k) => k.includes('auth-email:')),
            keys.join(' '),
          );
          assert.deepEqual(
            keys.filter((k) => k.toLowerCase().includes(email.toLowerCase())),
            [],
          );
        } finally {
          redis.disconnect();
        }
      }
    });

    test('comments share one budget per user over REST and WebSocket', async () => {
      const server = await start({ RATE_LIMIT_COMMENTS: '3/3s' });
      const { baseUrl } = server;
      const { session } = await goLive(baseUrl);
      const path = `/live/sessions/${session.session_id}/comments`;
      const alice = await register(baseUrl);
      const bob = await register(baseUrl);
      const socket = await TestSocket.open(
        `${server.wsUrl}/ws/live/${session.session_id}?token=${alice.token}`,
      );
      sockets.push(socket);
      await socket.waitForType('session_info');

      assert.equal(
        (await call(baseUrl, 'POST', path, { token: alice.token, body: { message: '1' } })).status,
        200,
      );
      socket.send({ type: 'comment', message: '2' });
      await socket.waitFor((m) => m.type === 'comment' && m.message === '2');
      assert.equal(
        (await call(baseUrl, 'POST', path, { token: alice.token, body: { message: '3' } })).status,
        200,
      );

      const retryAfter = assertLimited(
        await call(baseUrl, 'POST', path, { token: alice.token, body: { message: '4' } }),
        /Too many comments/,
      );
      socket.send({ type: 'comment', message: '5' });
      const refused = await socket.waitForType('error');
      assert.equal(refused.code, 'rate_limited');
      assert.match(refused.detail, /Too many comments.*try again in \d+ s/);
      assert.ok(refused.retry_after >= 1);
      assert.equal(socket.ws.readyState, WebSocket.OPEN, 'the socket stays open');
      // Another user's budget is untouched.
      assert.equal(
        (await call(baseUrl, 'POST', path, { token: bob.token, body: { message: 'bob' } })).status,
        200,
      );

      await server.waitOut(retryAfter);
      socket.send({ type: 'comment', message: '6' });
      await socket.waitFor((m) => m.type === 'comment' && m.message === '6');
      assert.equal(
        (await call(baseUrl, 'POST', path, { token: alice.token, body: { message: '7' } })).status,
        200,
      );
      const stored = await call(baseUrl, 'GET', path);
      assert.deepEqual(
        stored.body.items.map((c: any) => c.message),
        ['1', '2', '3', 'bob', '6', '7'],
        'refused comments were not stored',
      );
    });

    test('WebSocket connections per client IP: 429 before the upgrade, on both endpoints', async () => {
      const server = await start({ RATE_LIMIT_WS_CONNECT_IP: '3/3s' });
      const { session } = await goLive(server.baseUrl);
      const viewer = await register(server.baseUrl);
      const live = `${server.wsUrl}/ws/live/${session.session_id}?token=${viewer.token}`;
      const signal = `${server.wsUrl}/ws/signal/${session.session_id}?token=${viewer.token}`;
      for (const url of [live, signal, live]) {
        const socket = await TestSocket.open(url);
        sockets.push(socket);
      }
      const refused = await refusedUpgrade(signal);
      assert.equal(refused.status, 429);
      assert.match(refused.body.detail, /Too many connections from your address.*try again in \d+ s/);
      const retryAfter = Number(refused.retryAfter);
      assert.ok(retryAfter >= 1);
      assert.equal((await refusedUpgrade(live)).status, 429);
      // REST from the same address is not part of this budget.
      assert.equal((await call(server.baseUrl, 'GET', '/health')).status, 200);

      await server.waitOut(retryAfter);
      const back = await TestSocket.open(live);
      sockets.push(back);
      assert.equal((await back.waitForType('session_info')).is_live, true);
    });

    test('X-Forwarded-For names the client only when a trusted proxy sends it', async () => {
      const login = (base: string, forwardedFor: string) =>
        call(base, 'POST', '/auth/login', {
          body: { email: `nobody-${crypto.randomUUID()}@example.com`, password: 'x' },
          headers: { 'x-forwarded-for': forwardedFor },
        });
      // A proxy on this host (trusted by default): each client it forwards has its own budget.
      const proxied = await start({ RATE_LIMIT_AUTH_IP: '1/1m' });
      assert.equal((await login(proxied.baseUrl, '203.0.113.1')).status, 400);
      assertLimited(await login(proxied.baseUrl, '203.0.113.1'), /from your address/);
      assert.equal((await login(proxied.baseUrl, '203.0.113.2')).status, 400);
      // A peer nobody trusts cannot pick a new address per request to escape the limit.
      const direct = await start({ RATE_LIMIT_AUTH_IP: '1/1m', TRUST_PROXY: 'false' });
      assert.equal((await login(direct.baseUrl, '203.0.113.1')).status, 400);
      assertLimited(await login(direct.baseUrl, '203.0.113.2'), /from your address/);
      assertLimited(await login(direct.baseUrl, '198.51.100.7'), /from your address/);
    });

    test('RATE_LIMITS=off lifts every limit', async () => {
      const { baseUrl } = await start({
        RATE_LIMITS: 'off',
        RATE_LIMIT_AUTH_IP: '1/1m',
        RATE_LIMIT_AUTH_EMAIL: '1/1m',
      });
      for (let i = 0; i < 4; i++) assert.equal((await unknownLogin(baseUrl, 'same@example.com')).status, 400);
    });

    if (mode.redis) {
      test('two instances draw from one budget', async () => {
        const database = await createThrowawayDatabase();
        try {
          const env = { ...mode.env(), RATE_LIMIT_COMMENTS: '3/5s', RATE_LIMIT_AUTH_EMAIL: '3/5s' };
          const a = await startApp({ store: 'postgres', databaseUrl: database.url, env });
          const b = await startApp({ store: 'postgres', databaseUrl: database.url, env });
          running.push(a, b);
          const { session } = await goLive(a.baseUrl);
          const path = `/live/sessions/${session.session_id}/comments`;
          const user = await register(a.baseUrl);
          const post = (server: RunningApp, message: string) =>
            call(server.baseUrl, 'POST', path, { token: user.token, body: { message } });
          assert.equal((await post(a, 'a1')).status, 200);
          assert.equal((await post(b, 'b1')).status, 200);
          assert.equal((await post(a, 'a2')).status, 200);
          assertLimited(await post(b, 'b2'), /Too many comments/);
          assertLimited(await post(a, 'a3'), /Too many comments/);

          const email = user.user.email; // registered on A: one attempt already
          assert.equal((await unknownLogin(a.baseUrl, email)).status, 400);
          assert.equal((await unknownLogin(b.baseUrl, email)).status, 400);
          assertLimited(await unknownLogin(a.baseUrl, email), /for this email/);
        } finally {
          await database.drop();
        }
      });

      test('while Redis is unreachable the limiter counts in memory instead of failing open', async () => {
        // A port nobody listens on: the connection never becomes ready.
        const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
          enableOfflineQueue: false,
          retryStrategy: () => 1_000,
        });
        redis.on('error', () => undefined);
        const limiter = new RedisLimiter(redis, 'sm-rl-test:');
        try {
          const counts = [];
          for (let i = 0; i < 3; i++) counts.push((await limiter.hit('k', 5_000)).count);
          assert.deepEqual(counts, [1, 2, 3]);
        } finally {
          await limiter.close();
          redis.disconnect();
        }
      });
    }
  });
}

test('a malformed limit stops start-up naming the variable', () => {
  assert.throws(
    () => loadConfig({ NODE_ENV: 'test', DATA_DIR: 'memory://', RATE_LIMIT_COMMENTS: 'lots' }),
    /RATE_LIMIT_COMMENTS must look like MAX\/WINDOW/,
  );
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: 'memory://', RATE_LIMIT_COMMENTS: '5/500ms' });
  assert.deepEqual(config.rateLimits.commentsPerUser, { max: 5, windowMs: 500 });
});
