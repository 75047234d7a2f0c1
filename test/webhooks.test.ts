/**
 * Webhooks against a real local HTTP receiver: signed JSON for a session's start and end,
 * delivered at least once from the PostgreSQL outbox (retried with the same id, after an outage,
 * after an instance is killed mid-delivery), by one instance at a time, never slowing a request.
 * Retry delays are shortened through WEBHOOK_RETRY_DELAYS; the production schedule is checked as
 * a computation.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/config.js';
import { retryWindowMs } from '../src/webhooks/dispatcher.js';
import { signatureHeader, verifySignature } from '../src/webhooks/signature.js';
import { teardown } from './support/teardown.js';
import { startApp, type RunningApp, type StoreKind } from './support/app.js';
import { createThrowawayDatabase, quickDatabase } from './support/databases.js';
import { call, goLive, register } from './support/http.js';
import { startServerProcess } from './support/server-process.js';
import { needsPostgres } from './support/services.js';
import { WebhookReceiver } from './support/webhook-receiver.js';
import { eventually } from './support/ws.js';

const SECRET = 'webhook-secret-0123456789';

/** Fast retries for tests: the production schedule is checked on its own below. */
const fast = (receiver: WebhookReceiver, extra: Record<string, string> = {}) => ({
  WEBHOOK_URLS: receiver.url,
  WEBHOOK_SECRET: SECRET,
  WEBHOOK_RETRY_DELAYS: '100ms,200ms,300ms,400ms,500ms,500ms,500ms,500ms,500ms,500ms',
  WEBHOOK_POLL_MS: '50',
  ...extra,
});

/** The documented recipe (docs/webhooks.md), written out as a receiver would. */
function documentedCheck(header: string, rawBody: string, secret: string): boolean {
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=') as [string, string]));
  const expected = createHmac('sha256', secret).update(`${parts.t}.${rawBody}`).digest('hex');
  const fresh = Math.abs(Date.now() / 1000 - Number(parts.t)) < 300;
  return fresh && parts.v1 === expected;
}

/** The code block of `language` in docs/webhooks.md's signature section, as published. */
function docSnippet(language: 'js' | 'python'): string {
  const doc = readFileSync(new URL('../docs/webhooks.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Checking the signature'));
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(section);
  assert.ok(match, `a ${language} block in docs/webhooks.md`);
  return match[1]!;
}

/** The app's count of delivery attempts with `outcome` (its metrics: the dispatcher's own events). */
async function attempts(server: RunningApp, outcome: 'delivered' | 'failed' | 'gave_up'): Promise<number> {
  const metric = await server.app.metrics.webhookAttempts.get();
  return metric.values.filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
}

/** Rows in the app's outbox neither delivered nor given up. */
async function pending(server: RunningApp): Promise<number> {
  const metric = await server.app.metrics.registry
    .getSingleMetric('streammeon_webhook_outbox_pending')
    ?.get();
  return metric?.values[0]?.value ?? Number.NaN;
}

async function endSession(server: RunningApp, token: string, id: string) {
  const res = await call(server.baseUrl, 'POST', `/live/sessions/${id}/end`, { token });
  assert.equal(res.status, 200);
  return res;
}

for (const store of ['pglite', 'postgres'] as StoreKind[]) {
  describe(`webhooks on ${store}`, { skip: store === 'postgres' ? needsPostgres() : undefined }, () => {
    const receiver = new WebhookReceiver();
    let server: RunningApp;
    before(async () => {
      await receiver.start();
      server = await startApp({ store, env: fast(receiver) });
    });
    after(async () => {
      await server?.close();
      await receiver.down();
    });

    test('a session start and end reach the receiver as {id, type, created_at, data}', async () => {
      const { vendor, session } = await goLive(server.baseUrl);
      await endSession(server, vendor.token, session.session_id);
      await eventually(
        () =>
          receiver.received.some(
            (r) => r.json.data.session_id === session.session_id && r.json.type === 'session.ended',
          ),
        'session.ended arrived',
      );
      const started = receiver
        .ofType('session.started')
        .find((r) => r.json.data.session_id === session.session_id);
      assert.ok(started, 'session.started arrived');
      assert.deepEqual(Object.keys(started.json).sort(), ['created_at', 'data', 'id', 'type']);
      assert.equal(started.json.data.title, session.title);
      assert.equal(String(started.json.data.vendor_id), String(vendor.user.id));
      assert.match(started.json.id, /^[0-9a-f-]{36}$/);
    });

    test("session.ended carries the session's stats", async () => {
      const { vendor, session } = await goLive(server.baseUrl);
      const viewer = await register(server.baseUrl);
      for (const message of ['one', 'two']) {
        await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
          token: viewer.token,
          body: { message },
        });
      }
      const ended = await endSession(server, vendor.token, session.session_id);
      await eventually(
        () => receiver.ofType('session.ended').some((r) => r.json.data.session_id === session.session_id),
        'session.ended arrived',
      );
      const event = receiver
        .ofType('session.ended')
        .find((r) => r.json.data.session_id === session.session_id)!;
      assert.deepEqual(event.json.data, {
        session_id: session.session_id,
        vendor_id: vendor.user.id,
        ended_at: ended.body.ended_at,
        duration_seconds: ended.body.stats.duration_seconds,
        peak_viewers: 0,
        unique_views: 0,
        comments: 2,
        reactions: { heart: 0, laugh: 0, wow: 0, clap: 0, fire: 0 },
      });
    });

    test('the signature verifies with the documented recipe, and not with another secret', async () => {
      const { session } = await goLive(server.baseUrl);
      await eventually(
        () => receiver.ofType('session.started').some((r) => r.json.data.session_id === session.session_id),
        'session.started arrived',
      );
      const event = receiver
        .ofType('session.started')
        .find((r) => r.json.data.session_id === session.session_id)!;
      assert.match(event.signature, /^t=\d+,v1=[0-9a-f]{64}$/);
      assert.ok(documentedCheck(event.signature, event.body, SECRET));
      assert.ok(!documentedCheck(event.signature, event.body, `${SECRET}x`));
      assert.ok(!documentedCheck(event.signature, event.body.replace('}', ' }'), SECRET));
    });

    test('the JavaScript and Python recipes of docs/webhooks.md verify a delivered event', async () => {
      const { session } = await goLive(server.baseUrl);
      await eventually(
        () => receiver.ofType('session.started').some((r) => r.json.data.session_id === session.session_id),
        'session.started arrived',
      );
      const event = receiver
        .ofType('session.started')
        .find((r) => r.json.data.session_id === session.session_id)!;
      const dir = mkdtempSync(join(tmpdir(), 'sm-recipes-'));
      const js = join(dir, 'verify.mjs');
      writeFileSync(js, docSnippet('js'));
      const { verifyStreammeon } = (await import(pathToFileURL(js).href)) as {
        verifyStreammeon: (body: string, header: string, secret: string) => boolean;
      };
      assert.equal(verifyStreammeon(event.body, event.signature, SECRET), true);
      assert.equal(verifyStreammeon(event.body, event.signature, `${SECRET}x`), false);
      const py = join(dir, 'verify.py');
      writeFileSync(
        py,
        `${docSnippet('python')}\nimport sys\nprint(verify_streammeon(sys.stdin.buffer.read(), sys.argv[1], sys.argv[2]))\n`,
      );
      const python = (secret: string) =>
        spawnSync('python3', [py, event.signature, secret], { input: event.body, encoding: 'utf8' });
      assert.equal(python(SECRET).stdout.trim(), 'True', python(SECRET).stderr);
      assert.equal(python(`${SECRET}x`).stdout.trim(), 'False');
    });

    test('a deleted comment and a ban reach the receiver as comment.deleted and user.banned', async () => {
      const { vendor, session } = await goLive(server.baseUrl);
      const viewer = await register(server.baseUrl);
      const posted = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
        token: viewer.token,
        body: { message: 'spam' },
      });
      const removed = await call(
        server.baseUrl,
        'DELETE',
        `/live/sessions/${session.session_id}/comments/${posted.body.id}`,
        { token: vendor.token },
      );
      assert.equal(removed.status, 204);
      const banned = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/bans`, {
        token: vendor.token,
        body: { user_id: viewer.user.id, duration_seconds: 600 },
      });
      assert.equal(banned.status, 200);
      const of = (type: string) =>
        receiver.ofType(type).find((r) => r.json.data.session_id === session.session_id);
      await eventually(() => Boolean(of('comment.deleted') && of('user.banned')), 'both events arrived');
      assert.deepEqual(of('comment.deleted')!.json.data, {
        session_id: session.session_id,
        comment_id: posted.body.id,
        user_id: viewer.user.id,
        deleted_by: vendor.user.id,
      });
      assert.deepEqual(of('user.banned')!.json.data, {
        vendor_id: vendor.user.id,
        user_id: viewer.user.id,
        session_id: session.session_id,
        until: banned.body.until,
        banned_by: vendor.user.id,
      });
    });

    test('ending a session twice sends session.ended once', async () => {
      const { vendor, session } = await goLive(server.baseUrl);
      await endSession(server, vendor.token, session.session_id);
      await endSession(server, vendor.token, session.session_id);
      await eventually(
        () => receiver.ofType('session.ended').some((r) => r.json.data.session_id === session.session_id),
        'session.ended arrived',
      );
      // Nothing left in the outbox: a second session.ended would have been a row of it.
      await eventually(async () => (await pending(server)) === 0, 'the outbox empty');
      const ids = new Set(
        receiver
          .ofType('session.ended')
          .filter((r) => r.json.data.session_id === session.session_id)
          .map((r) => r.json.id),
      );
      assert.equal(ids.size, 1);
    });
  });
}

describe('webhook delivery', () => {
  const receiver = new WebhookReceiver();
  let server: RunningApp;
  let database: Awaited<ReturnType<typeof quickDatabase>>;
  before(async () => {
    await receiver.start();
    database = await quickDatabase();
    server = await startApp({
      store: database.url ? 'postgres' : 'pglite',
      databaseUrl: database.url,
      env: fast(receiver, {
        WEBHOOK_TIMEOUT_MS: '300',
        WEBHOOK_RETRY_DELAYS: '100ms,200ms,300ms,400ms,500ms,1s,1s,1s',
      }),
    });
  });
  after(async () => {
    await server.close();
    await database.drop();
    await receiver.down();
  });
  /** What the receiver got for one session's session.started. */
  const startedOf = (sessionId: string) =>
    receiver.ofType('session.started').filter((r) => r.json.data.session_id === sessionId);

  test('a failed attempt (HTTP 500) is retried with the same id and body, signed afresh', async () => {
    const failing = new Set<string>();
    receiver.answer = (r) => {
      if (!failing.has(r.json.id) && startedOf(String(r.json.data.session_id)).length <= 2) {
        return { status: 500 };
      }
      failing.add(r.json.id);
      return { status: 204 };
    };
    const delivered = await attempts(server, 'delivered');
    const { session } = await goLive(server.baseUrl);
    await eventually(() => startedOf(session.session_id).length === 3, 'three attempts');
    const [first, ...rest] = startedOf(session.session_id);
    for (const attempt of rest) {
      assert.equal(attempt.json.id, first!.json.id);
      assert.equal(attempt.body, first!.body);
      assert.ok(documentedCheck(attempt.signature, attempt.body, SECRET));
    }
    // Delivered means its row is gone: nothing can send it again.
    await eventually(async () => (await attempts(server, 'delivered')) > delivered, 'delivered');
    assert.equal(startedOf(session.session_id).length, 3, 'not sent again once answered 2xx');
  });

  test('no answer within WEBHOOK_TIMEOUT_MS is a failure, retried', async () => {
    receiver.answer = (r) =>
      startedOf(String(r.json.data.session_id)).length === 1 ? 'hang' : { status: 200 };
    const { session } = await goLive(server.baseUrl);
    await eventually(() => startedOf(session.session_id).length === 2, 'a second attempt after the timeout');
    const [a, b] = startedOf(session.session_id);
    assert.equal(a!.json.id, b!.json.id);
    assert.ok(b!.at - a!.at >= 300, `retried ${b!.at - a!.at} ms after the first attempt`);
  });

  test('receiver down while ten events fail, then up: every event arrives', async () => {
    receiver.answer = () => ({ status: 200 });
    await receiver.down();
    const before = receiver.received.length;
    const failed = await attempts(server, 'failed');
    const sessions: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const { vendor, session } = await goLive(server.baseUrl);
      await endSession(server, vendor.token, session.session_id);
      sessions.push(session.session_id);
    }
    // Each of the ten events (a start and an end per session) failed at least once while down.
    await eventually(async () => (await attempts(server, 'failed')) >= failed + 10, 'ten failed attempts');
    assert.equal(receiver.received.length, before);
    await receiver.up();
    const mine = () => receiver.received.filter((r) => sessions.includes(String(r.json.data.session_id)));
    await eventually(
      () => new Set(mine().map((r) => r.json.id)).size === 10,
      'all ten events arrived',
      10_000,
    );
    for (const id of sessions) {
      for (const type of ['session.started', 'session.ended']) {
        assert.ok(
          receiver.ofType(type).some((r) => r.json.data.session_id === id),
          `${type} ${id}`,
        );
      }
    }
  });

  test('after the last retry delay the event is given up, not sent again', async () => {
    receiver.answer = () => ({ status: 503 });
    const gaveUp = await attempts(server, 'gave_up');
    const { session } = await goLive(server.baseUrl);
    // The first attempt and one per delay of WEBHOOK_RETRY_DELAYS (8): 9, then given up, and a
    // given-up row is never claimed again.
    await eventually(async () => (await attempts(server, 'gave_up')) > gaveUp, 'given up', 10_000);
    assert.equal(startedOf(session.session_id).length, 9);
  });

  test('the production schedule retries within 30 s and for at least an hour', () => {
    const { webhooks } = loadConfig({ NODE_ENV: 'test', DATA_DIR: 'memory://' });
    assert.ok(webhooks.retryDelaysMs[0]! <= 30_000, `first retry after ${webhooks.retryDelaysMs[0]} ms`);
    assert.ok(retryWindowMs(webhooks.retryDelaysMs) >= 3_600_000);
    assert.equal(webhooks.timeoutMs, 10_000);
  });

  test('each attempt is signed for its own time, and an old signature no longer verifies', () => {
    const body = '{"id":"x"}';
    const first = signatureHeader(SECRET, body, 1_000_000);
    const later = signatureHeader(SECRET, body, 1_000_060);
    assert.notEqual(first, later);
    assert.ok(verifySignature(SECRET, later, body, 1_000_060));
    assert.ok(!verifySignature(SECRET, first, body, 1_000_000 + 301), 'older than 5 minutes');
  });
});

describe('webhooks across instances', { skip: needsPostgres() }, () => {
  test('two instances never send the same event at the same time, and send each once', async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    receiver.answer = () => ({ status: 200, delayMs: 100 });
    const database = await createThrowawayDatabase();
    const env = fast(receiver);
    const a = await startApp({ store: 'postgres', databaseUrl: database.url, env });
    const b = await startApp({ store: 'postgres', databaseUrl: database.url, env });
    try {
      for (let i = 0; i < 10; i += 1) {
        const { vendor, session } = await goLive(i % 2 ? a.baseUrl : b.baseUrl);
        await endSession(i % 2 ? a : b, vendor.token, session.session_id);
      }
      await eventually(() => receiver.ids().size === 20, 'all twenty events arrived', 10_000);
      // Both instances' outbox (one table) empty: nothing is left to send twice.
      await eventually(async () => (await pending(a)) === 0, 'the outbox empty');
      assert.equal(receiver.maxConcurrentPerId, 1);
      assert.equal(receiver.received.length, 20, 'each event sent once');
    } finally {
      await a.close();
      await b.close();
      await database.drop();
      await receiver.down();
    }
  });

  test('an instance killed mid-delivery loses nothing: another delivers the event', async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    receiver.answer = () => 'hang';
    const database = await createThrowawayDatabase();
    const env = {
      ...fast(receiver, { WEBHOOK_TIMEOUT_MS: '500' }),
      DATABASE_URL: database.url,
    };
    const first = await startServerProcess(env);
    let second: Awaited<ReturnType<typeof startServerProcess>> | undefined;
    try {
      const { session } = await goLive(first.baseUrl);
      await eventually(() => receiver.received.length === 1, 'the first instance is delivering');
      first.child.kill('SIGKILL');
      await first.stop();
      receiver.answer = () => ({ status: 200 });
      second = await startServerProcess(env);
      await eventually(
        () => receiver.received.length >= 2,
        'the second instance delivered it after the lease ran out',
        10_000,
      );
      const last = receiver.received.at(-1)!;
      assert.equal(last.json.id, receiver.received[0]!.json.id);
      assert.equal(last.json.data.session_id, session.session_id);
    } finally {
      await second?.stop();
      await first.stop();
      await database.drop();
      await receiver.down();
    }
  });

  test('a receiver taking 10 s per request does not slow POST …/end', async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    receiver.answer = () => ({ status: 200, delayMs: 10_000 });
    const server = await startApp({ store: 'postgres', env: fast(receiver) });
    try {
      const timings: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const { vendor, session } = await goLive(server.baseUrl);
        await eventually(() => receiver.inFlight.size > 0, 'a delivery is waiting on the receiver');
        const started = performance.now();
        await endSession(server, vendor.token, session.session_id);
        timings.push(performance.now() - started);
      }
      assert.ok(Math.max(...timings) < 1_000, `POST …/end took ${timings.map(Math.round).join(', ')} ms`);
    } finally {
      // Both, even when one overran: a receiver left up holds the file open. The receiver goes
      // first: it cuts the delivery in hand, which the app's close would otherwise wait out (10 s).
      await teardown([
        { name: 'receiver', run: () => receiver.down() },
        // server.close() bounds its own steps (app.close 20 s, database.drop 10 s): this one only
        // backs them up.
        { name: 'app', run: () => server.close(), ms: 35_000 },
      ]);
    }
  });
});
