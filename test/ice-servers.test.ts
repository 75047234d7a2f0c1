/**
 * `GET /ice-servers`: the static ICE_SERVERS plus TURN credentials minted for the signed-in
 * caller (TURN_URLS, TURN_SECRET, TURN_TTL_SECONDS), and what `/app-config.json` says of media.
 * The route reads no table of its own, so one store (PGlite) is enough.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../src/clock.js';
import { startApp, type RunningApp } from './support/app.js';
import { call, register } from './support/http.js';

const STUN = { urls: 'stun:stun.example.com:3478' };
const TURN_ENV = {
  ICE_SERVERS: JSON.stringify([STUN]),
  TURN_URLS: 'turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349?transport=tcp',
  TURN_SECRET: 'coturn-static-auth-secret',
  TURN_TTL_SECONDS: '600',
};

/** A clock the test reads; starts at the real time so issued tokens look ordinary. */
function fixedClock(): Clock {
  const now = Date.now();
  return { now: () => now };
}

describe('GET /ice-servers with TURN configured', () => {
  let running: RunningApp;
  const clock = fixedClock();

  before(async () => {
    running = await startApp({ env: TURN_ENV, deps: { clock } });
  });
  after(async () => {
    await running?.close();
  });

  test('without a token it is 401', async () => {
    const res = await call(running.baseUrl, 'GET', '/ice-servers');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { detail: 'Not authenticated' });
  });

  test('a signed-in user gets the static servers and TURN credentials valid for TURN_TTL_SECONDS', async () => {
    const viewer = await register(running.baseUrl, 'user');
    const res = await call(running.baseUrl, 'GET', '/ice-servers', { token: viewer.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const expiry = Math.floor(clock.now() / 1000) + 600;
    assert.equal(res.body.expires_at, new Date(expiry * 1000).toISOString());
    const [stun, turn] = res.body.ice_servers;
    assert.deepEqual(stun, STUN);
    assert.deepEqual(turn.urls, TURN_ENV.TURN_URLS.split(','));
    assert.equal(turn.username, `${expiry}:${viewer.user.id}`);
    const password = createHmac('sha1', TURN_ENV.TURN_SECRET).update(turn.username).digest('base64');
    assert.equal(turn.credential, password);
  });

  test('vendors get credentials too, under their own user id', async () => {
    const vendor = await register(running.baseUrl, 'vendor');
    const res = await call(running.baseUrl, 'GET', '/ice-servers', { token: vendor.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.ice_servers[1].username.endsWith(`:${vendor.user.id}`));
  });

  test('the answer is never cached', async () => {
    const viewer = await register(running.baseUrl, 'user');
    const res = await call(running.baseUrl, 'GET', '/ice-servers', { token: viewer.token });
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  test('/app-config.json says turn: true and media: "mesh", and carries no credential', async () => {
    const res = await call(running.baseUrl, 'GET', '/app-config.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.turn, true);
    assert.equal(res.body.media, 'mesh');
    assert.deepEqual(res.body.ice_servers, [STUN]);
    assert.ok(!JSON.stringify(res.body).includes(TURN_ENV.TURN_SECRET));
  });
});

describe('GET /ice-servers without TURN', () => {
  let running: RunningApp;

  before(async () => {
    running = await startApp({ env: { ICE_SERVERS: JSON.stringify([STUN]) } });
  });
  after(async () => {
    await running?.close();
  });

  test('a signed-in user gets the static servers only, and expires_at null', async () => {
    const viewer = await register(running.baseUrl, 'user');
    const res = await call(running.baseUrl, 'GET', '/ice-servers', { token: viewer.token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { ice_servers: [STUN], expires_at: null });
  });

  test('/app-config.json says turn: false and media: "mesh"', async () => {
    const res = await call(running.baseUrl, 'GET', '/app-config.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.turn, false);
    assert.equal(res.body.media, 'mesh');
  });
});
