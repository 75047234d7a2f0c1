/**
 * SIGTERM under load, against a real server process on PostgreSQL: WebSocket clients hear 1012
 * (service restart) so they reconnect elsewhere, a request already in flight is finished rather
 * than cut, every acknowledged comment is stored and nothing unacknowledged is, and the process
 * exits by itself, cleanly, in under 10 s.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { goLive, register } from './support/http.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import { needsPostgres } from './support/services.js';
import { sleep, TestSocket } from './support/ws.js';

/** One POST on its own connection; resolves with the status, or the network error's code. */
function post(
  baseUrl: string,
  path: string,
  token: string,
  body: unknown,
): Promise<{ status?: number; error?: string; body?: any }> {
  const data = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      baseUrl + path,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
        res.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ error: `response cut: ${error.code ?? error.message}` }),
        );
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(data);
  });
}

describe('SIGTERM during load', { skip: needsPostgres() }, () => {
  let database: ThrowawayDatabase;
  let server: ServerProcess;
  const sockets: TestSocket[] = [];

  before(async () => {
    database = await createThrowawayDatabase();
    // The posters below are a load, not abuse: lift the per-user comment budget.
    server = await startServerProcess({
      DATABASE_URL: database.url,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_COMMENTS: '1000000/1m',
    });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server?.stop(1_000);
    await database?.drop();
  });

  test(
    'clients get 1012, no request in flight is cut, the process exits cleanly in under 10 s',
    { timeout: 60_000 },
    async (t) => {
      const { vendor, session } = await goLive(server.baseUrl);
      const path = `/live/sessions/${session.session_id}/comments`;
      const posters = await Promise.all(Array.from({ length: 8 }, () => register(server.baseUrl)));

      for (let i = 0; i < 20; i++) {
        const socket = await TestSocket.open(
          `${server.wsUrl}/ws/live/${session.session_id}?token=${posters[i % 8]!.token}`,
        );
        sockets.push(socket);
        await socket.waitForType('session_info');
      }
      const signalVendor = await TestSocket.open(
        `${server.wsUrl}/ws/signal/${session.session_id}?token=${vendor.token}`,
      );
      signalVendor.send({ type: 'role', value: 'vendor' });
      await signalVendor.waitForType('welcome');
      const signalViewer = await TestSocket.open(
        `${server.wsUrl}/ws/signal/${session.session_id}?token=${posters[0]!.token}`,
      );
      await signalViewer.waitForType('welcome');
      sockets.push(signalVendor, signalViewer);

      // A request in flight at the signal: headers and half its body sent, the rest after SIGTERM.
      const slowBody = JSON.stringify({ message: 'sent across the SIGTERM' });
      const slow = connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
      let slowReply = '';
      slow.on('data', (chunk: Buffer) => (slowReply += chunk.toString()));
      const slowEnded = new Promise<void>((resolve) => slow.on('close', () => resolve()));
      slow.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${posters[1]!.token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(slowBody)}\r\nConnection: close\r\n\r\n` +
          slowBody.slice(0, 10),
      );

      // Steady load: 8 posters, each posting as fast as its replies come, until the server is gone.
      const results: { status?: number; error?: string; body?: any }[] = [];
      let running = true;
      const load = posters.map(async (poster, p) => {
        for (let i = 0; running; i++) {
          const result = await post(server.baseUrl, path, poster.token, { message: `p${p} #${i}` });
          results.push(result);
          if (result.error === 'ECONNREFUSED') return; // the listener is closed: the server is gone
        }
      });
      await sleep(1_500);

      const before = results.length;
      assert.ok(before > 20, `load was flowing before the signal (${before} requests)`);
      const signalledAt = Date.now();
      const exited = server.stop(15_000);
      await sleep(400);
      slow.write(slowBody.slice(10));
      const code = await exited;
      const tookMs = Date.now() - signalledAt;
      running = false;
      await Promise.all(load);
      await slowEnded;

      const tally = new Map<string, number>();
      for (const r of results)
        tally.set(String(r.status ?? r.error), (tally.get(String(r.status ?? r.error)) ?? 0) + 1);
      t.diagnostic(
        `exit ${code} after ${tookMs} ms; requests by outcome: ${JSON.stringify(Object.fromEntries(tally))}`,
      );
      assert.equal(code, 0, `exit code; stderr: ${server.output().slice(-2_000)}`);
      assert.ok(tookMs < 10_000, `exited ${tookMs} ms after SIGTERM`);

      for (const socket of sockets) assert.equal(await socket.closeCode(1_000), 1012);

      assert.match(
        slowReply,
        /^HTTP\/1\.1 200 /,
        `the in-flight request finished: ${slowReply.slice(0, 200)}`,
      );
      const slowComment = JSON.parse(slowReply.slice(slowReply.indexOf('\r\n\r\n') + 4));
      assert.equal(slowComment.message, 'sent across the SIGTERM');

      // Nothing was cut mid-response; refusals are clean: 503 while closing, or no listener.
      const cut = results.filter((r) => r.error && !['ECONNREFUSED', 'ECONNRESET'].includes(r.error));
      assert.deepEqual(cut, [], 'no response was cut off');
      const statuses = new Set(results.filter((r) => r.status).map((r) => r.status));
      for (const status of statuses) assert.ok(status === 200 || status === 503, `status ${status}`);

      const acknowledged = new Set(results.filter((r) => r.status === 200).map((r) => r.body.id as string));
      acknowledged.add(slowComment.id);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ id: string }>('select id from comments where session_id = $1', [
          session.session_id,
        ]);
        const stored = new Set(rows.map((r) => r.id));
        assert.ok(acknowledged.size > before / 2);
        assert.deepEqual(
          [...acknowledged].filter((id) => !stored.has(id)),
          [],
          'every acknowledged comment is stored',
        );
        assert.equal(stored.size, acknowledged.size, 'no comment was stored without its client hearing 200');
      } finally {
        await client.end();
      }
    },
  );
});

describe('SIGTERM with a client that never answers', () => {
  test(
    'a socket that ignores the close handshake is cut off, not waited for (ws alone waits 30 s)',
    { timeout: 30_000 },
    async (t) => {
      const server = await startServerProcess({ DATA_DIR: 'memory://' });
      try {
        const { session } = await goLive(server.baseUrl);
        const viewer = await register(server.baseUrl);
        const socket = await TestSocket.open(
          `${server.wsUrl}/ws/live/${session.session_id}?token=${viewer.token}`,
        );
        await socket.waitForType('session_info');
        // The phone went into a tunnel: its TCP connection stays up but it reads nothing any more.
        (socket.ws as any)._socket.pause();
        const signalledAt = Date.now();
        const code = await server.stop(15_000);
        const tookMs = Date.now() - signalledAt;
        t.diagnostic(`exit ${code} after ${tookMs} ms`);
        assert.equal(code, 0, server.output().slice(-2_000));
        assert.ok(tookMs < 5_000, `exited ${tookMs} ms after SIGTERM`);
        socket.ws.terminate();
      } finally {
        await server.stop(1_000);
      }
    },
  );
});
