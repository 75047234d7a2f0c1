/**
 * `/metrics`: Prometheus text from prom-client, behind METRICS_TOKEN (or on METRICS_PORT), and
 * counters that move by exactly what happened: messages written during a fan-out, comments
 * accepted and refused, REST answers by route and status.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from './support/app.js';
import { quickDatabase } from './support/databases.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres } from './support/services.js';
import { startServerProcess } from './support/server-process.js';
import { eventually, TestSocket } from './support/ws.js';

const TOKEN = 'metrics-token-0123456789';

/** The value of one series in a Prometheus text exposition (0 when absent). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return 0;
}

async function scrape(baseUrl: string, token = TOKEN): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

describe('/metrics with METRICS_TOKEN', () => {
  let server: RunningApp;
  const sockets: TestSocket[] = [];

  let database: Awaited<ReturnType<typeof quickDatabase>>;

  before(async () => {
    database = await quickDatabase();
    server = await startApp({
      store: database.url ? 'postgres' : 'pglite',
      databaseUrl: database.url,
      env: { METRICS_TOKEN: TOKEN, VIEWER_COUNT_INTERVAL_MS: '20' },
    });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server.close();
    await database.drop();
  });

  test('is refused without the token', async () => {
    const res = await call(server.baseUrl, 'GET', '/metrics');
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /METRICS_TOKEN/);
  });

  test('is refused with a wrong token', async () => {
    const res = await call(server.baseUrl, 'GET', '/metrics', { token: `${TOKEN}x` });
    assert.equal(res.status, 401);
  });

  test('answers Prometheus text whose every series is named streammeon_*', async () => {
    const text = await scrape(server.baseUrl);
    const names = text
      .split('\n')
      .filter((line) => line.startsWith('# TYPE '))
      .map((line) => line.split(' ')[2]);
    assert.ok(names.length > 20, `only ${names.length} metrics`);
    for (const name of names) assert.match(name!, /^streammeon_/);
    // The default process metrics are there too.
    assert.ok(names.includes('streammeon_process_cpu_seconds_total'));
  });

  test('counts every message written during a fan-out, exactly, once per viewer and comment', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const viewers = 5;
    const comments = 7;
    for (let i = 0; i < viewers; i += 1) {
      const viewer = await register(server.baseUrl);
      const socket = await TestSocket.open(
        `${server.wsUrl}/ws/live/${session.session_id}?token=${viewer.token}`,
      );
      sockets.push(socket);
      await socket.waitForType('session_info');
    }
    const mine = sockets.slice(-viewers);
    // Quiet: every viewer heard the final counts, so nothing else is due.
    for (const socket of mine) {
      await socket.waitFor((m) => m.type === 'viewer_count' && m.count === viewers);
      await socket.waitFor((m) => m.type === 'views_total' && m.total === viewers);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const heard = mine.map((s) => s.messages.length);
    const before = await scrape(server.baseUrl);
    const during: Promise<string>[] = [];
    for (let i = 0; i < comments; i += 1) {
      const res = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
        token: vendor.token,
        body: { message: `comment ${i}` },
      });
      assert.equal(res.status, 200);
      // Scraped while the fan-out is under way: in step with it, never ahead.
      during.push(scrape(server.baseUrl));
    }
    for (const socket of mine) {
      await eventually(() => socket.ofType('comment').length === comments, 'every viewer has every comment');
    }
    const afterText = await scrape(server.baseUrl);
    const received = mine.reduce((n, s, i) => n + s.messages.length - heard[i]!, 0);
    assert.equal(received, viewers * comments, 'viewers heard only the comments');
    const sent = (text: string) => sample(text, 'streammeon_ws_messages_sent_total', { endpoint: 'live' });
    assert.equal(sent(afterText) - sent(before), viewers * comments);
    const midway = (await Promise.all(during)).map((text) => sent(text) - sent(before));
    for (const [i, n] of midway.entries()) {
      assert.ok(n >= 0 && n <= viewers * comments && n % viewers === 0, `scrape ${i} saw ${n}`);
      if (i > 0) assert.ok(n >= midway[i - 1]!, 'never backwards');
    }
    assert.equal(
      sample(afterText, 'streammeon_ws_messages_sent_total', { endpoint: 'signal' }) -
        sample(before, 'streammeon_ws_messages_sent_total', { endpoint: 'signal' }),
      0,
    );
    const batches = (text: string) => sample(text, 'streammeon_fanout_delay_seconds_count');
    assert.ok(batches(afterText) - batches(before) >= 1, 'the fan-out delay was observed');
    assert.equal(
      sample(afterText, 'streammeon_comments_accepted_total') -
        sample(before, 'streammeon_comments_accepted_total'),
      comments,
    );
  });

  test('shows open sockets per endpoint, rooms and viewers on this instance', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    const before = await scrape(server.baseUrl);
    const socket = await TestSocket.open(
      `${server.wsUrl}/ws/live/${session.session_id}?token=${viewer.token}`,
    );
    sockets.push(socket);
    await socket.waitForType('session_info');
    const during = await scrape(server.baseUrl);
    const open = (text: string) => sample(text, 'streammeon_ws_open_sockets', { endpoint: 'live' });
    assert.equal(open(during) - open(before), 1);
    assert.equal(sample(during, 'streammeon_live_rooms') - sample(before, 'streammeon_live_rooms'), 1);
    assert.equal(sample(during, 'streammeon_live_viewers') - sample(before, 'streammeon_live_viewers'), 1);
    socket.close();
    await socket.closed;
    await eventually(
      async () => open(await scrape(server.baseUrl)) === open(before),
      'the closed socket no longer counts',
    );
  });

  test('counts refused comments by reason', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    const before = await scrape(server.baseUrl);
    const blank = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
      token: viewer.token,
      body: { message: '   ' },
    });
    assert.equal(blank.status, 422);
    const missing = await call(server.baseUrl, 'POST', `/live/sessions/${crypto.randomUUID()}/comments`, {
      token: viewer.token,
      body: { message: 'hello' },
    });
    assert.equal(missing.status, 404);
    const afterText = await scrape(server.baseUrl);
    const refused = (text: string, reason: string) =>
      sample(text, 'streammeon_comments_refused_total', { reason });
    assert.equal(refused(afterText, 'invalid') - refused(before, 'invalid'), 1);
    assert.equal(refused(afterText, 'not_found') - refused(before, 'not_found'), 1);
  });

  test('records REST latency by route pattern and status', async () => {
    const { session } = await goLive(server.baseUrl);
    const route = { method: 'GET', route: '/live/sessions/:session_id' };
    const before = await scrape(server.baseUrl);
    await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    await call(server.baseUrl, 'GET', `/live/sessions/${crypto.randomUUID()}`);
    const afterText = await scrape(server.baseUrl);
    const count = (text: string, status: string) =>
      sample(text, 'streammeon_http_request_duration_seconds_count', { ...route, status });
    assert.equal(count(afterText, '200') - count(before, '200'), 1);
    assert.equal(count(afterText, '404') - count(before, '404'), 1);
  });

  test('is in the OpenAPI document, with bearer security', async () => {
    const doc = (await call(server.baseUrl, 'GET', '/openapi.json')).body;
    assert.deepEqual(doc.paths['/metrics'].get.security, [{ bearer: [] }]);
  });

  test('shows the bus as up, in-process', async () => {
    const text = await scrape(server.baseUrl);
    assert.equal(sample(text, 'streammeon_bus_up', { backend: 'memory' }), 1);
  });
});

describe('/metrics without METRICS_TOKEN', () => {
  test('is not found', async () => {
    const database = await quickDatabase();
    const server = await startApp({ store: database.url ? 'postgres' : 'pglite', databaseUrl: database.url });
    try {
      const res = await call(server.baseUrl, 'GET', '/metrics');
      assert.equal(res.status, 404);
    } finally {
      await server.close();
      await database.drop();
    }
  });
});

describe('/metrics with METRICS_PORT', () => {
  test('is served on that port, and the public port does not have it', async () => {
    const { freePort } = await import('./support/server-process.js');
    const port = await freePort();
    const database = await quickDatabase();
    const server = await startServerProcess({ ...database.env, METRICS_PORT: String(port) });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /streammeon_ws_messages_sent_total/);
      const pub = await call(server.baseUrl, 'GET', '/metrics');
      assert.equal(pub.status, 404);
    } finally {
      await server.stop();
      await database.drop();
    }
  });
});

describe('/metrics on PostgreSQL', { skip: needsPostgres() }, () => {
  test('shows the pool: connections in use and idle, and queries waiting', async () => {
    const server = await startApp({ store: 'postgres', env: { METRICS_TOKEN: TOKEN } });
    try {
      const text = await scrape(server.baseUrl);
      assert.match(text, /^streammeon_db_pool_connections\{state="idle"\} \d+$/m);
      assert.match(text, /^streammeon_db_pool_connections\{state="in_use"\} \d+$/m);
      assert.match(text, /^streammeon_db_pool_waiting \d+$/m);
    } finally {
      await server.close();
    }
  });
});
