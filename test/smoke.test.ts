/**
 * scripts/smoke.sh against a real server process, once on embedded PGlite and once on
 * PostgreSQL: the original README's cURL flow must pass unchanged on both.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { needsPostgres } from './support/services.js';
import { REPO_ROOT, startServerProcess, type ServerProcess } from './support/server-process.js';

const SMOKE = join(REPO_ROOT, 'scripts/smoke.sh');

/** Runs smoke.sh with `args`; resolves with its exit code and output. */
function runSmoke(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SMOKE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function smokeSuite(kind: 'pglite' | 'postgres') {
  describe(
    `scripts/smoke.sh against a server process on ${kind}`,
    {
      skip: kind === 'postgres' ? needsPostgres() : undefined,
    },
    () => {
      let server: ServerProcess | undefined;
      let dataDir: string | undefined;
      let database: ThrowawayDatabase | undefined;

      before(async () => {
        if (kind === 'postgres') {
          database = await createThrowawayDatabase('sm_smoke');
          server = await startServerProcess({ DATABASE_URL: database.url });
        } else {
          dataDir = await mkdtemp(join(tmpdir(), 'streammeon-smoke-'));
          server = await startServerProcess({ DATA_DIR: dataDir });
        }
      });

      after(async () => {
        await server?.stop();
        await database?.drop();
        if (dataDir) await rm(dataDir, { recursive: true, force: true });
      });

      test('every step of the cURL flow passes', async () => {
        const { code, stdout, stderr } = await runSmoke([server!.baseUrl]);
        assert.equal(code, 0, `smoke.sh failed:\n${stdout}\n${stderr}\nserver:\n${server!.output()}`);
        assert.match(stdout, /all steps passed/);
      });

      test('running it a second time against the same server passes too', async () => {
        const { code, stdout, stderr } = await runSmoke([`${server!.baseUrl}/`]);
        assert.equal(code, 0, `${stdout}\n${stderr}`);
      });

      test('SIGTERM shuts the server down cleanly with exit code 0', async () => {
        const code = await server!.stop();
        assert.equal(code, 0, server!.output());
      });
    },
  );
}

smokeSuite('pglite');
smokeSuite('postgres');

describe('scripts/smoke.sh failures', () => {
  test('an unreachable server fails loudly, naming the step', async () => {
    // Port 9 (discard) is closed on any sane test machine: nothing answers there.
    const { code, stderr } = await runSmoke(['http://127.0.0.1:9']);
    assert.notEqual(code, 0);
    assert.match(stderr, /FAILED at step 'GET \/health'/);
  });

  test('a server that answers wrongly fails at the first wrong step', async () => {
    // A stand-in that is healthy but answers every other request with 418.
    const { createServer } = await import('node:http');
    const fake = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/health') res.end(JSON.stringify({ status: 'ok', db: 'ok', bus: 'memory' }));
      else res.writeHead(418).end(JSON.stringify({ detail: 'teapot' }));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = fake.address() as { port: number };
      const { code, stderr } = await runSmoke([`http://127.0.0.1:${port}`]);
      assert.notEqual(code, 0);
      assert.match(stderr, /FAILED at step 'register vendor': expected HTTP 200, got 418/);
    } finally {
      await new Promise((resolve) => fake.close(resolve));
    }
  });
});

describe('Procfile', () => {
  test('runs the compiled server, which reads PORT from the environment', async () => {
    const procfile = await readFile(join(REPO_ROOT, 'Procfile'), 'utf8');
    assert.equal(procfile.trim(), 'web: node dist/main.js');
  });
});
