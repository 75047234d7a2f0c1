/**
 * Embedded PGlite keeps its data in DATA_DIR: what one run stored, the next run on the same
 * directory still has.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from './support/app.js';
import { call } from './support/http.js';

describe('restart on the same DATA_DIR (embedded PGlite)', () => {
  let dataDir: string;
  let second: RunningApp | undefined;
  const vendor = { email: 'keeper@example.com', name: 'Keeper', password: 'kept password', role: 'vendor' };
  let firstToken: string;
  let userId: string;
  let sessionId: string;
  let commentId: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'streammeon-persist-'));
    // No JWT_SECRET: outside production the generated one is kept in DATA_DIR too.
    const env = { DATA_DIR: dataDir, JWT_SECRET: undefined };
    const first = await startApp({ store: 'pglite', env });
    try {
      const reg = await call(first.baseUrl, 'POST', '/auth/register', { body: vendor });
      assert.equal(reg.status, 200, JSON.stringify(reg.body));
      firstToken = reg.body.access_token;
      userId = reg.body.user.id;
      const created = await call(first.baseUrl, 'POST', '/live/sessions', {
        token: firstToken,
        body: { title: 'Survives restarts' },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      sessionId = created.body.session_id;
      const comment = await call(first.baseUrl, 'POST', `/live/sessions/${sessionId}/comments`, {
        token: firstToken,
        body: { message: 'still here?' },
      });
      assert.equal(comment.status, 200, JSON.stringify(comment.body));
      commentId = comment.body.id;
    } finally {
      await first.close();
    }
    second = await startApp({ store: 'pglite', env });
  });

  after(async () => {
    await second?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('the data lives under DATA_DIR', async () => {
    const entries = await readdir(dataDir);
    assert.ok(entries.includes('pglite'), `DATA_DIR holds ${entries.join(', ')}`);
  });

  test('a user registered before the restart logs in after it', async () => {
    const res = await call(second!.baseUrl, 'POST', '/auth/login', {
      body: { email: vendor.email, password: vendor.password },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user.id, userId);
  });

  test('a session created before the restart is still there and still live', async () => {
    const res = await call(second!.baseUrl, 'GET', `/live/sessions/${sessionId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.title, 'Survives restarts');
    assert.equal(res.body.is_live, true);
    assert.equal(res.body.vendor.id, userId);
    const active = await call(second!.baseUrl, 'GET', '/live/sessions/active');
    assert.ok(active.body.items.some((s: any) => s.session_id === sessionId));
  });

  test('comments posted before the restart are still listed', async () => {
    const res = await call(second!.baseUrl, 'GET', `/live/sessions/${sessionId}/comments`);
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.items.map((c: any) => [c.id, c.message]),
      [[commentId, 'still here?']],
    );
  });

  test('a token issued before the restart is still accepted (the dev secret is kept)', async () => {
    const res = await call(second!.baseUrl, 'GET', '/me', { token: firstToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.id, userId);
  });

  test('the same email cannot be registered again after the restart', async () => {
    const res = await call(second!.baseUrl, 'POST', '/auth/register', { body: vendor });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { detail: 'Email already registered' });
  });
});
