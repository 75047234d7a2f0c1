/**
 * Only HS256 tokens signed with our secret and not yet expired authenticate anyone. Each forged
 * token below is otherwise well-formed and names a real user, so only the property under test
 * can be the reason it is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { startApp, type RunningApp } from './support/app.js';
import { call, register } from './support/http.js';

const SECRET = 'jwt-test-secret-long-enough-for-hs';
const key = new TextEncoder().encode(SECRET);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access tokens on /me', () => {
  let running: RunningApp;
  let user: { id: string | number; name: string; role: string };
  let claims: { sub: string; role: string; name: string };

  before(async () => {
    running = await startApp({ store: 'pglite', env: { JWT_SECRET: SECRET } });
    ({ user } = await register(running.baseUrl, 'vendor'));
    claims = { sub: String(user.id), role: user.role, name: user.name };
  });
  after(async () => {
    await running?.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const hs256 = (overrides: { iat?: number; exp?: number; secret?: Uint8Array } = {}) =>
    new SignJWT({ role: claims.role, name: claims.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuedAt(overrides.iat ?? now())
      .setExpirationTime(overrides.exp ?? now() + 600)
      .sign(overrides.secret ?? key);

  const me = (token: string) => call(running.baseUrl, 'GET', '/me', { token });

  test('a token we sign ourselves with the secret is accepted (the forgeries below differ only in one way)', async () => {
    const res = await me(await hs256());
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.id, user.id);
  });

  test('a token with alg "none" is refused with 401', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, iat: now(), exp: now() + 600 })}.`;
    const res = await me(token);
    assert.equal(res.status, 401);
    assert.equal(typeof res.body.detail, 'string');
  });

  test('a token signed with HS512 and the right secret is refused with 401', async () => {
    const token = await new SignJWT({ role: claims.role, name: claims.name })
      .setProtectedHeader({ alg: 'HS512', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
    const res = await me(token);
    assert.equal(res.status, 401);
  });

  test('a token signed with RS256 is refused with 401', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ role: claims.role, name: claims.name })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    const res = await me(token);
    assert.equal(res.status, 401);
  });

  test('a token signed with another secret is refused with 401', async () => {
    const res = await me(await hs256({ secret: new TextEncoder().encode('some-other-secret-entirely') }));
    assert.equal(res.status, 401);
  });

  test('a token whose payload was altered after signing is refused with 401', async () => {
    const [header, , signature] = (await hs256()).split('.');
    const tampered = `${header}.${b64({ ...claims, role: 'vendor', name: 'Mallory', iat: now(), exp: now() + 600 })}.${signature}`;
    const res = await me(tampered);
    assert.equal(res.status, 401);
  });

  test('a token past its exp is refused with 401', async () => {
    const res = await me(await hs256({ iat: now() - 7200, exp: now() - 60 }));
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /expired/i);
  });

  test('a token issued by the service itself expires after ACCESS_TTL_MIN', async () => {
    const clock = { now: () => Date.now() };
    const timed = await startApp({
      store: 'pglite',
      env: { JWT_SECRET: SECRET, ACCESS_TTL_MIN: '1' },
      deps: { clock },
    });
    try {
      const { token } = await register(timed.baseUrl);
      assert.equal((await call(timed.baseUrl, 'GET', '/me', { token })).status, 200);
      const start = Date.now();
      clock.now = () => start + 61_000;
      assert.equal((await call(timed.baseUrl, 'GET', '/me', { token })).status, 401);
    } finally {
      await timed.close();
    }
  });

  test('a token without exp is refused with 401', async () => {
    const token = await new SignJWT({ role: claims.role, name: claims.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuedAt()
      .sign(key);
    const res = await me(token);
    assert.equal(res.status, 401);
  });

  test('a token whose sub is not a user id of this database is refused with 401', async () => {
    const token = await new SignJWT({ role: claims.role, name: claims.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('42')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
    const res = await me(token);
    assert.equal(res.status, 401);
  });
});
