/**
 * No credential reaches the logs. A real server process in production mode at LOG_LEVEL=info
 * (what operators run) logs every request line, and the bearer token a client sent in a query
 * string, a header or a WebSocket URL appears nowhere in its output. Then the pieces behind it:
 * the text redaction, the error serializer and pino's `redact` paths, on a logger of our options.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loggerOptions, REDACTED, redactText, serializeError } from '../src/http/log-redaction.js';
import { call, goLive, register } from './support/http.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import { eventually, TestSocket } from './support/ws.js';

/** The JSON lines a process wrote (pino's output), skipping anything else. */
function logLines(output: string): any[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

describe('a production server at LOG_LEVEL=info', () => {
  let server: ServerProcess;

  before(async () => {
    server = await startServerProcess({
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      JWT_SECRET: 'logs-test-secret-long-enough',
      CORS_ORIGINS: 'https://app.example.com',
      DATA_DIR: 'memory://',
    });
  });
  after(async () => {
    await server?.stop();
  });

  test('logs each request line with its credentials replaced by [REDACTED]', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    const token = viewer.token;

    // The token as the original's clients send it: in the query, in the header, in a WebSocket URL.
    const inQuery = await call(server.baseUrl, 'GET', `/me?authorization=Bearer%20${token}`);
    assert.equal(inQuery.status, 200, JSON.stringify(inQuery.body));
    const inHeader = await call(server.baseUrl, 'GET', '/me', { token });
    assert.equal(inHeader.status, 200, JSON.stringify(inHeader.body));
    const socket = await TestSocket.open(`${server.wsUrl}/ws/live/${session.session_id}?token=${token}`);
    await socket.waitForType('session_info');
    socket.close();
    await socket.closeCode();
    // Other credential-looking parameters and headers, on a route that does not exist.
    const other = await call(server.baseUrl, 'GET', `/nowhere?limit=5&api_key=k-${token}&password=hunter2`, {
      headers: { cookie: `session=${token}`, 'proxy-authorization': `Basic ${token}` },
    });
    assert.equal(other.status, 404);

    const wsUrl = `/ws/live/${session.session_id}?token=${REDACTED}`;
    // The output arrives through a pipe: wait for the last request's line (lines keep their order).
    await eventually(
      () => logLines(server.output()).some((l) => l.req?.url?.startsWith('/nowhere')),
      'the last request is logged',
    );
    const output = server.output();
    assert.ok(!output.includes(token), `the token is in the output:\n${output.slice(0, 4_000)}`);
    // The JWT's signature alone is as secret (and the password sent at registration too).
    assert.ok(!output.includes(token.split('.')[2]!), 'the token signature is in the output');
    assert.ok(
      !output.includes('hunter2') && !output.includes('correct horse'),
      'a password is in the output',
    );

    const urls = logLines(output)
      .filter((l) => l.msg === 'incoming request')
      .map((l) => l.req.url);
    for (const expected of [
      `/me?authorization=${REDACTED}`,
      '/me',
      wsUrl,
      `/nowhere?limit=5&api_key=${REDACTED}&password=${REDACTED}`,
    ]) {
      assert.ok(urls.includes(expected), `${expected} is logged; logged: ${JSON.stringify(urls)}`);
    }
  });
});

describe('redactText', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

  test('replaces credential query parameters, bearer and basic credentials, JWTs and URL passwords', () => {
    const cases: [string, string][] = [
      [`/ws/live/abc?token=${jwt}`, `/ws/live/abc?token=${REDACTED}`],
      [`/me?authorization=Bearer%20${jwt}`, `/me?authorization=${REDACTED}`],
      [`/x?limit=5&access_token=abc&cursor=c1`, `/x?limit=5&access_token=${REDACTED}&cursor=c1`],
      [
        `/x?API_KEY=abc&client_secret=s&pwd=p&sig=z`,
        `/x?API_KEY=${REDACTED}&client_secret=${REDACTED}&pwd=${REDACTED}&sig=${REDACTED}`,
      ],
      // A percent-encoded name is still the same parameter to the server.
      [`/x?%74oken=abc`, `/x?%74oken=${REDACTED}`],
      [`Authorization: Bearer ${jwt}`, `Authorization: Bearer ${REDACTED}`],
      [`proxy: Basic dXNlcjpwYXNz`, `proxy: Basic ${REDACTED}`],
      [`/weird/${jwt}/path`, `/weird/${REDACTED}/path`],
      [
        'connect ECONNREFUSED postgresql://app:s3cret@db:5432/app',
        `connect ECONNREFUSED postgresql://app:${REDACTED}@db:5432/app`,
      ],
    ];
    for (const [input, expected] of cases) assert.equal(redactText(input), expected, input);
  });

  test('leaves text without credentials as it is', () => {
    for (const text of [
      '/live/sessions/active?limit=50&cursor=MjAyNi0xMS0yNQ',
      '/live/sessions/6f9c0e2a-1b7d-4c1e-9d2b-3a4b5c6d7e8f/comments?limit=20&before=2026-11-25T11:00:00Z',
      'incoming request',
      'storage: PostgreSQL; realtime: Redis',
    ]) {
      assert.equal(redactText(text), text);
    }
  });
});

describe('the logger options', () => {
  /** A logger built from our options, and every line it wrote. */
  function capture() {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    return { log: pino(loggerOptions('debug'), stream), text: () => lines.join('') };
  }
  const secret = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.dG9wLXNlY3JldC1zaWduYXR1cmU';

  test('errors logged with err carry neither the raw request nor a token in their text', () => {
    const parseError = Object.assign(new Error('Parse Error: Header overflow'), {
      code: 'HPE_HEADER_OVERFLOW',
      rawPacket: Buffer.from(`GET / HTTP/1.1\r\nAuthorization: Bearer ${secret}\r\n`),
    });
    const clientError = Object.assign(new Error(`request to /me?token=${secret} failed`), {
      headers: { authorization: `Bearer ${secret}`, accept: 'application/json' },
      config: { headers: { Cookie: `sid=${secret}` }, url: `https://api.example.com/?key=${secret}` },
      cause: new Error(`upstream said Bearer ${secret} is expired`),
    });
    const serialized = JSON.stringify([serializeError(parseError), serializeError(clientError)]);
    assert.ok(!serialized.includes(secret), serialized);
    assert.ok(!serialized.includes('rawPacket'), serialized);
    assert.match(serialized, /Header overflow/);
    assert.match(serialized, /application\/json/, 'harmless fields stay');

    const { log, text } = capture();
    log.error({ err: clientError }, 'unhandled error');
    log.warn({ err: `redis at redis://:${secret}@cache:6379 unreachable` }, 'redis down');
    assert.ok(!text().includes(secret), text());
  });

  test('credential headers and fields are blanked wherever they are logged, and messages are redacted', () => {
    const { log, text } = capture();
    log.info({ req: { method: 'GET', url: `/me?authorization=Bearer%20${secret}` } }, 'incoming request');
    log.info({ headers: { authorization: `Bearer ${secret}`, cookie: secret, 'set-cookie': [secret] } }, 'h');
    log.info({ upstream: { headers: { 'proxy-authorization': secret } } }, 'nested');
    log.info({ token: secret, user: { password: secret } }, 'fields');
    log.warn(`could not verify ${secret} for /ws/live/x?token=${secret}`);
    assert.ok(!text().includes(secret), text());
    const lines = text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines[0].req.url, `/me?authorization=${REDACTED}`);
    assert.equal(lines[1].headers.authorization, REDACTED);
    assert.equal(lines[3].user.password, REDACTED);
    assert.equal(lines[4].msg, `could not verify ${REDACTED} for /ws/live/x?token=${REDACTED}`);
  });
});
