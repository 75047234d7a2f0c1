/**
 * The README's first command, as a newcomer runs it: `npm start` builds (TypeScript and the web
 * app) and serves both from dist/ on embedded storage. The other suites run src/ through tsx, so
 * only this one proves the build itself works.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, REPO_ROOT } from './support/server-process.js';

describe('npm start', () => {
  let child: ChildProcess;
  let baseUrl: string;
  let output = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'streammeon-start-'));

  before(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // Its own process group, so stopping it reaches node behind npm and sh.
    child = spawn('npm', ['start'], {
      cwd: REPO_ROOT,
      detached: true,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: String(port),
        DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && child.exitCode === null) {
      const health = await fetch(`${baseUrl}/health`).catch(() => undefined);
      if (health?.status === 200) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.fail(`npm start did not serve /health:\n${output}`);
  });

  after(async () => {
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('serves the API on embedded storage', async () => {
    const res = await fetch(`${baseUrl}/health`);
    assert.deepEqual(await res.json(), { status: 'ok', db: 'ok', db_kind: 'pglite', bus: 'memory' });
  });

  test('serves the web app at /', async () => {
    const res = await fetch(baseUrl);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await res.text(), /<script[^>]+src="\/assets\//);
  });

  test('registers a user into the embedded store', async () => {
    const res = await fetch(`${baseUrl}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'newcomer@example.com', name: 'New', password: '123456789' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
  });
});
