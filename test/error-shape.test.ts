/**
 * Every error the server sends is `{"detail": "..."}`, also those that never reach a route:
 * requests Node's HTTP parser refuses (headers too large, Content-Length with Transfer-Encoding,
 * a malformed request line or chunk), errors Fastify raises before routing or while reading a
 * body, the static files' errors, WebSocket handshakes ws refuses, and the 503 of an instance
 * shutting down. Raw TCP, so the bytes on the wire are what is checked, not what an HTTP client
 * makes of them.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from './support/app.js';
import { buildWebIfStale } from './support/browser.js';
import { goLive, register } from './support/http.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import { sleep, TestSocket } from './support/ws.js';

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server ended the connection (FIN) within the wait. */
  closedByServer: boolean;
}

/** Writes `request` on a fresh connection and reads one reply, waiting up to `ms` for the server to end it. */
function exchange(baseUrl: string, request: string | Buffer, ms = 3_000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(baseUrl).port), '127.0.0.1');
    let data = Buffer.alloc(0);
    let closedByServer = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = data.toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no complete reply: ${JSON.stringify(text.slice(0, 300))}`));
      const [statusLine, ...headerLines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        headers,
        body: Buffer.from(text.slice(split + 4), 'latin1').toString(),
        closedByServer,
      });
    };
    const timer = setTimeout(finish, ms);
    socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    // A reset after the reply was read is the server cutting a client that kept sending.
    socket.on('error', () => finish());
    socket.write(request);
  });
}

/**
 * What a client that writes its whole body before reading (Python's http.client, many mobile
 * stacks) gets: every byte written, respecting backpressure, then the reply read; a reset while
 * writing (EPIPE, ECONNRESET) rejects, as it would fail that client.
 */
function writeAllThenRead(baseUrl: string, head: string, bodyBytes: number): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(baseUrl).port), '127.0.0.1');
    let data = Buffer.alloc(0);
    let written = false;
    let ended = false;
    const settle = () => {
      if (!written || !ended) return;
      const text = data.toString('latin1');
      resolve({
        status: Number(text.split(' ')[1]),
        headers: {},
        body: text.slice(text.indexOf('\r\n\r\n') + 4),
        closedByServer: true,
      });
    };
    socket.on('error', (error) =>
      reject(new Error(`${written ? 'after' : 'while'} writing: ${error.message}`)),
    );
    socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
    socket.on('end', () => {
      ended = true;
      settle();
    });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let left = bodyBytes;
    const writeMore = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        const last = left === 0;
        const more = socket.write(n === chunk.length ? chunk : chunk.subarray(0, n), (error) => {
          if (!last || error) return;
          written = true;
          settle();
        });
        if (!more) return void socket.once('drain', writeMore);
      }
    };
    socket.write(head);
    writeMore();
  });
}

/** Asserts `reply` is `status` with a JSON `{detail: string}` body and nothing else. */
function assertDetail(reply: RawReply, status: number, detail?: RegExp): void {
  assert.equal(reply.status, status, `status; got ${reply.status} ${reply.body}`);
  assert.match(reply.headers['content-type'] ?? '', /^application\/json/, reply.body);
  const body = JSON.parse(reply.body);
  assert.deepEqual(Object.keys(body), ['detail'], reply.body);
  assert.equal(typeof body.detail, 'string', reply.body);
  if (detail) assert.match(body.detail, detail);
}

const HOST = 'Host: 127.0.0.1\r\n';

describe('errors before routing', () => {
  let server: RunningApp;
  before(async () => {
    server = await startApp();
  });
  after(async () => {
    await server?.close();
  });

  test('a 100 KB token header: 431 {detail}, Connection: close', async () => {
    const reply = await exchange(
      server.baseUrl,
      `GET /me HTTP/1.1\r\n${HOST}Authorization: Bearer ${'x'.repeat(100_000)}\r\n\r\n`,
    );
    assertDetail(reply, 431, /headers are too large/);
    assert.equal(reply.headers.connection, 'close');
    assert.ok(reply.closedByServer, 'the server ends the connection');
  });

  test('Content-Length and Transfer-Encoding together: 400 {detail}, Connection: close', async () => {
    const reply = await exchange(
      server.baseUrl,
      `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\n` +
        'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    assertDetail(reply, 400, /Transfer-Encoding/);
    assert.equal(reply.headers.connection, 'close');
    assert.ok(reply.closedByServer, 'the server ends the connection');
  });

  test('a malformed request line, version, header or chunk: 400 {detail}', async () => {
    for (const request of [
      'HELLO WORLD\r\n\r\n',
      `GET / HTTP/9.9\r\n${HOST}\r\n`,
      `GET / HTTP/1.1\r\n${HOST}Bad Header: 1\r\n\r\n`,
      `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    ]) {
      const reply = await exchange(server.baseUrl, request);
      assertDetail(reply, 400, /^Malformed HTTP request/);
      assert.equal(reply.headers.connection, 'close', request);
    }
  });

  test('a broken %-escape in the path: 400 {detail}; an over-long path parameter: 414 {detail}', async () => {
    assertDetail(
      await exchange(server.baseUrl, `GET /%zz HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`),
      400,
    );
    const longId = 'a'.repeat(200);
    assertDetail(
      await exchange(
        server.baseUrl,
        `GET /live/sessions/${longId} HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
      ),
      414,
    );
  });
});

describe('errors while reading a request, and from the static files', () => {
  let server: RunningApp;
  before(async () => {
    buildWebIfStale();
    server = await startApp();
  });
  after(async () => {
    await server?.close();
  });

  test('a body over the limit: 413 {detail}; an unsupported media type: 415 {detail}', async () => {
    const big = 'x'.repeat(300 * 1024);
    assertDetail(
      await exchange(
        server.baseUrl,
        `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`,
      ),
      413,
    );
    assertDetail(
      await exchange(
        server.baseUrl,
        `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: text/xml\r\nContent-Length: 4\r\nConnection: close\r\n\r\n<a/>`,
      ),
      415,
    );
  });

  test('a client still sending a body over the limit reads the 413 once it has sent it (lingering close)', async () => {
    const bytes = 4 * 1024 * 1024;
    const reply = await writeAllThenRead(
      server.baseUrl,
      `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: ${bytes}\r\n\r\n`,
      bytes,
    );
    assert.equal(reply.status, 413, reply.body);
    assert.match(JSON.parse(reply.body).detail, /body/i);
  });

  test('a missing page, asset or Swagger UI file: 404 {detail}; a range past the end of a file: 416 {detail}', async () => {
    for (const path of [
      '/no-such-page',
      '/assets/no-such-file.js',
      '/docs/static/no-such-file.js',
      '/%2e%2e/package.json',
    ]) {
      assertDetail(
        await exchange(server.baseUrl, `GET ${path} HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`),
        404,
      );
    }
    assertDetail(
      await exchange(
        server.baseUrl,
        `GET /favicon.svg HTTP/1.1\r\n${HOST}Range: bytes=999999-1000000\r\nConnection: close\r\n\r\n`,
      ),
      416,
    );
  });
});

describe('a server process (main.ts)', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ DATA_DIR: 'memory://' });
  });
  after(async () => {
    await server?.stop();
  });

  test("a WebSocket upgrade with a bad key or version: 400 {detail}, not ws's text/html", async () => {
    const upgrade = (headers: string) =>
      exchange(
        server.baseUrl,
        `GET /ws/live/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\n${HOST}Upgrade: websocket\r\nConnection: Upgrade\r\n${headers}\r\n`,
      );
    const badKey = await upgrade('Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: nope\r\n');
    assertDetail(badKey, 400, /Sec-WebSocket-Key/);
    assert.equal(badKey.headers.connection, 'close');
    const badVersion = await upgrade(
      'Sec-WebSocket-Version: 7\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
    );
    assertDetail(badVersion, 400, /Sec-WebSocket-Version/);
    assert.equal(badVersion.headers['sec-websocket-version'], '13, 8', 'the versions this server speaks');
  });

  test(
    'shutting down, it answers new requests 503 {detail} with Connection: close',
    { timeout: 60_000 },
    async () => {
      const { session } = await goLive(server.baseUrl);
      const viewer = await register(server.baseUrl);
      // A viewer that stops reading keeps the shutdown waiting for its close handshake (2 s),
      // while the listener still takes connections: requests arriving now are refused.
      const socket = await TestSocket.open(
        `${server.wsUrl}/ws/live/${session.session_id}?token=${viewer.token}`,
      );
      await socket.waitForType('session_info');
      (socket.ws as any)._socket.pause();
      const exited = server.stop(15_000);
      await sleep(300);
      const reply = await exchange(server.baseUrl, `GET /health HTTP/1.1\r\n${HOST}\r\n`);
      assertDetail(reply, 503, /shutting down/);
      assert.equal(reply.headers.connection, 'close');
      assert.equal(await exited, 0, server.output().slice(-2_000));
    },
  );
});
