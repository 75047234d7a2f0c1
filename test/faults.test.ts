/**
 * Faults injected into the real services while the app runs, and recovery without a restart:
 *
 * - Redis (a private redis-server started for this suite, never the shared one) is killed and
 *   started again during a live session with viewers on two instances: local delivery goes on,
 *   /health says `degraded`, and cross-instance delivery and counts come back by themselves.
 * - Every PostgreSQL connection of the app's database is killed with pg_terminate_backend while
 *   comments are being posted: failures are 503s with a clear detail, never 500s, the app serves
 *   again at once, and the acknowledged comments are exactly the stored ones.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { call, goLive, register } from './support/http.js';
import { freePort, startServerProcess, type ServerProcess } from './support/server-process.js';
import { needsPostgres, needsRedis } from './support/services.js';
import { eventually, sleep, TestSocket } from './support/ws.js';
import { MESH } from './support/contract.js';

/** A redis-server of this suite's own, on its own port, with nothing persisted. */
class PrivateRedis {
  #child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
      child.once('error', (error) =>
        reject(new Error(`cannot run redis-server (${error.message}): apt-get install redis-server`)),
      );
    });
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }
}

describe(
  'Redis restarted during a live session on two instances',
  { skip: needsPostgres() ?? needsRedis() },
  () => {
    let database: ThrowawayDatabase;
    let redis: PrivateRedis;
    let a: ServerProcess;
    let b: ServerProcess;
    const sockets: TestSocket[] = [];
    const open = async (url: string) => {
      const socket = await TestSocket.open(url);
      sockets.push(socket);
      await socket.waitForType('session_info');
      return socket;
    };

    before(async () => {
      redis = new PrivateRedis(await freePort());
      await redis.start();
      database = await createThrowawayDatabase();
      const env = {
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        VIEWER_COUNT_INTERVAL_MS: '100',
        PRESENCE_HEARTBEAT_MS: '500',
        PRESENCE_TTL_MS: '5000',
      };
      [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    });
    after(async () => {
      for (const s of sockets) s.close();
      await Promise.all([a?.stop(), b?.stop()]);
      await redis?.kill();
      await database?.drop();
    });

    test(
      'local delivery goes on, /health says degraded, and everything crosses instances again after',
      { timeout: 90_000 },
      async () => {
        const { session } = await goLive(a.baseUrl);
        const id = session.session_id;
        const poster = await register(a.baseUrl);
        const viewers = await Promise.all(Array.from({ length: 5 }, () => register(a.baseUrl)));
        const url = (server: ServerProcess, i: number) =>
          `${server.wsUrl}/ws/live/${id}?token=${viewers[i]!.token}`;
        const onA = [await open(url(a, 0)), await open(url(a, 1))];
        const onB = [await open(url(b, 2)), await open(url(b, 3)), await open(url(b, 4))];
        await onA[0]!.waitFor((m) => m.type === 'viewer_count' && m.count === 5, 10_000);
        const comment = async (server: ServerProcess, message: string) => {
          const res = await call(server.baseUrl, 'POST', `/live/sessions/${id}/comments`, {
            token: poster.token,
            body: { message },
          });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          return res.body;
        };
        const heard = (socket: TestSocket, message: string) =>
          socket.waitFor((m) => m.type === 'comment' && m.message === message, 10_000);

        await comment(a, 'before');
        for (const s of [...onA, ...onB]) await heard(s, 'before');

        await redis.kill();
        for (const server of [a, b]) {
          await eventually(
            async () => (await call(server.baseUrl, 'GET', '/health')).body.bus === 'down',
            'the instance notices Redis is gone',
            10_000,
          );
          const health = await call(server.baseUrl, 'GET', '/health');
          assert.equal(health.status, 200);
          assert.deepEqual(health.body, {
            status: 'degraded',
            db: 'ok',
            db_kind: 'postgres',
            bus: 'down',
            media: MESH,
          });
        }
        // Without Redis: the REST API, logins (counted in memory meanwhile) and local delivery work.
        const during = await comment(a, 'during the outage');
        for (const s of onA) await heard(s, 'during the outage');
        const login = await call(b.baseUrl, 'POST', '/auth/login', {
          body: { email: poster.user.email, password: 'correct horse' },
        });
        assert.equal(login.status, 200);
        const stored = await call(b.baseUrl, 'GET', `/live/sessions/${id}/comments`);
        assert.ok(
          stored.body.items.some((c: any) => c.id === during.id),
          'stored, and readable from B',
        );
        // A local count still answers: each instance knows its own viewers at least.
        assert.ok((await call(b.baseUrl, 'GET', `/live/sessions/${id}`)).body.viewer_count >= 3);

        await redis.start(); // empty: no presence, no subscriptions survive
        for (const server of [a, b]) {
          await eventually(
            async () => (await call(server.baseUrl, 'GET', '/health')).body.status === 'ok',
            'the instance reconnects to Redis',
            15_000,
          );
          assert.equal((await call(server.baseUrl, 'GET', '/health')).body.bus, 'redis');
        }
        // Subscriptions are restored: a comment on A reaches B's viewers, and one on B reaches A's.
        await eventually(
          async () => {
            const marker = `after ${Date.now()}`;
            await comment(a, marker);
            try {
              await onB[0]!.waitFor((m) => m.type === 'comment' && m.message === marker, 1_000);
              return true;
            } catch {
              return false;
            }
          },
          'a comment on A reaches B again',
          15_000,
        );
        await comment(b, 'from B after');
        for (const s of [...onA, ...onB]) await heard(s, 'from B after');
        // Presence is re-asserted by the heartbeat: both instances count all five viewers again.
        for (const server of [a, b]) {
          await eventually(
            async () => (await call(server.baseUrl, 'GET', `/live/sessions/${id}`)).body.viewer_count === 5,
            `${server === a ? 'A' : 'B'} counts the viewers of both instances`,
            10_000,
          );
        }
        // And changes cross again: a sixth viewer on B is counted by A's sockets.
        const sixth = await register(b.baseUrl);
        const mark = onA[0]!.messages.length;
        await open(`${b.wsUrl}/ws/live/${id}?token=${sixth.token}`);
        await onA[0]!.waitFor((m) => m.type === 'viewer_count' && m.count === 6, 10_000, mark);
      },
    );
  },
);

describe('PostgreSQL connections killed during comment posting', { skip: needsPostgres() }, () => {
  let database: ThrowawayDatabase;
  let server: ServerProcess;
  let admin: pg.Client;

  before(async () => {
    database = await createThrowawayDatabase();
    // The posters below are a load, not abuse: lift the per-user comment budget.
    server = await startServerProcess({ DATABASE_URL: database.url, RATE_LIMIT_COMMENTS: '1000000/1m' });
    admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await server?.stop();
    await database?.drop();
  });

  /** Kills every backend connected to this suite's database (and no other). */
  const killConnections = async () => {
    const name = new URL(database.url).pathname.slice(1);
    const { rows } = await admin.query<{ killed: boolean }>(
      'select pg_terminate_backend(pid) as killed from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [name],
    );
    return rows.length;
  };

  test(
    'failures are 503 with a clear detail, the app recovers by itself, acknowledged = stored',
    { timeout: 60_000 },
    async (t) => {
      const { session } = await goLive(server.baseUrl);
      const id = session.session_id;
      const path = `/live/sessions/${id}/comments`;
      const posters = await Promise.all(Array.from({ length: 6 }, () => register(server.baseUrl)));
      const viewer = await TestSocket.open(`${server.wsUrl}/ws/live/${id}?token=${posters[0]!.token}`);
      await viewer.waitForType('session_info');
      const wsPoster = await TestSocket.open(`${server.wsUrl}/ws/live/${id}?token=${posters[1]!.token}`);
      await wsPoster.waitForType('session_info');

      const results: { status: number; body: any }[] = [];
      let running = true;
      const load = posters.map(async (poster, p) => {
        for (let i = 0; running; i++) {
          results.push(
            await call(server.baseUrl, 'POST', path, {
              token: poster.token,
              body: { message: `p${p} #${i}` },
            }),
          );
        }
      });
      // Comments over the socket too: they take the same path and must fail as cleanly.
      let wsSent = 0;
      const wsLoad = (async () => {
        while (running) {
          wsPoster.send({ type: 'comment', message: `ws #${wsSent++}` });
          await sleep(50);
        }
      })();

      // Sockets joining meanwhile: admitted, or closed with 1013 (try again later), never dropped.

      const joins: (number | 'admitted')[] = [];

      const joining = (async () => {
        while (running) {
          const socket = await TestSocket.open(`${server.wsUrl}/ws/live/${id}?token=${posters[4]!.token}`);

          const outcome = await Promise.race([
            socket.waitForType('session_info').then(() => 'admitted' as const),

            socket.closed.then((c) => c.code),
          ]).catch(() => socket.closed.then((c) => c.code));

          joins.push(outcome);

          socket.close();
        }
      })();

      await sleep(500);

      let killed = 0;
      for (let round = 0; round < 6; round++) {
        killed += await killConnections();
        await sleep(250);
      }
      await sleep(500);
      running = false;
      await Promise.all([...load, wsLoad, joining]);
      for (const join of joins) assert.ok(join === 'admitted' || join === 1013, `a join ended with ${join}`);
      assert.ok(killed > 0, 'connections were killed');

      const failures = results.filter((r) => r.status !== 200);
      for (const failure of failures) {
        assert.equal(failure.status, 503, `only 503s: ${JSON.stringify(failure)}`);
        assert.equal(failure.body.detail, 'Database unavailable, try again shortly');
      }
      const wsErrors = wsPoster.ofType('error');
      for (const error of wsErrors) {
        assert.deepEqual(error, {
          type: 'error',
          code: 'unavailable',
          detail: 'Database unavailable, try again shortly',
        });
      }

      // Recovered without a restart: REST, the socket, new sockets and health all work.
      const afterwards = await call(server.baseUrl, 'POST', path, {
        token: posters[2]!.token,
        body: { message: 'after' },
      });
      assert.equal(afterwards.status, 200);
      await viewer.waitFor((m) => m.type === 'comment' && m.id === afterwards.body.id);
      wsPoster.send({ type: 'comment', message: 'ws after' });
      await viewer.waitFor((m) => m.type === 'comment' && m.message === 'ws after');
      const fresh = await TestSocket.open(`${server.wsUrl}/ws/live/${id}?token=${posters[3]!.token}`);
      assert.equal((await fresh.waitForType('session_info')).is_live, true);
      fresh.close();
      assert.deepEqual((await call(server.baseUrl, 'GET', '/health')).body.status, 'ok');

      const acknowledged = new Set(results.filter((r) => r.status === 200).map((r) => r.body.id as string));
      acknowledged.add(afterwards.body.id);
      const reader = new pg.Client({ connectionString: database.url });
      await reader.connect();
      const { rows } = await reader.query<{ id: string }>(
        `select id from comments where session_id = $1 and message not like 'ws %'`,
        [id],
      );
      await reader.end();
      // Diagnostic counts for the log: how much of the load the kills hit.
      t.diagnostic(
        `${killed} connections killed; REST ${results.length} posts, ${failures.length} answered 503; WS ${wsSent} sent, ${wsErrors.length} answered unavailable; ${joins.length} joins, ${joins.filter((j) => j === 1013).length} closed with 1013`,
      );
      const stored = new Set(rows.map((r) => r.id));
      assert.deepEqual(
        [...acknowledged].filter((c) => !stored.has(c)),
        [],
        'every acknowledged comment is stored',
      );
      assert.equal(stored.size, acknowledged.size, 'acknowledged and stored counts are equal');
      viewer.close();
      wsPoster.close();
    },
  );
});
