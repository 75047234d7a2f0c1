/**
 * The README's first command, as a newcomer runs it: `npm start` builds (TypeScript and the web
 * app) and serves both from dist/ on embedded storage. The other suites run src/ through tsx, so
 * only this one proves the build itself works.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import { MESH } from './support/contract.js';

describe('npm start', () => {
  let server: ServerProcess;
  const dataDir = mkdtempSync(join(tmpdir(), 'streammeon-start-'));

  before(async () => {
    // A newcomer's environment: development mode, no JWT_SECRET (one is generated into DATA_DIR).
    server = await startServerProcess(
      { NODE_ENV: 'development', JWT_SECRET: '', DATA_DIR: dataDir },
      { command: ['npm', 'start'], timeoutMs: 180_000 },
    );
  });

  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('serves the API on embedded storage', async () => {
    const res = await fetch(`${server.baseUrl}/health`);
    assert.deepEqual(await res.json(), {
      status: 'ok',
      db: 'ok',
      db_kind: 'pglite',
      bus: 'memory',
      media: MESH,
    });
  });

  test('serves the web app at /', async () => {
    const res = await fetch(server.baseUrl);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await res.text(), /<script[^>]+src="\/assets\//);
  });

  test('registers a user into the embedded store', async () => {
    const res = await fetch(`${server.baseUrl}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'newcomer@example.com', name: 'New', password: '123456789' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
  });
});
