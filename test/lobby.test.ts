/**
 * The lobby at scale: `GET /live/sessions/active` from a shared snapshot at most
 * LOBBY_SNAPSHOT_MS old, renewed at once on every instance when a session starts or ends, with an
 * ETag and 304 for If-None-Match that costs no database query; the web client asks conditionally.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KyselyPlugin } from 'kysely';
import { openStore, type Store } from '../src/db/store.js';
import { ApiClient } from '../web/src/client/api.js';
import { startApp, startPair, type RunningApp, type RunningPair } from './support/app.js';
import { quickDatabase } from './support/databases.js';
import { call, goLive } from './support/http.js';
import { needsPostgres, needsRedis } from './support/services.js';
import { jumpingClock } from './support/clock.js';
import { sleep } from './support/ws.js';

/** A store whose every query is counted. */
async function countedStore(): Promise<{ store: Store; queries: () => number; reset: () => void }> {
  const database = await quickDatabase();
  const opened = await openStore({ databaseUrl: database.url, dataDir: 'memory://' });
  const store: Store = {
    ...opened,
    async close() {
      await opened.close();
      await database.drop();
    },
  };
  let n = 0;
  const counter: KyselyPlugin = {
    transformQuery(args) {
      n += 1;
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  };
  return {
    store: { ...store, db: store.db.withPlugin(counter) },
    queries: () => n,
    reset: () => {
      n = 0;
    },
  };
}

const ACTIVE = '/live/sessions/active';

describe('the lobby snapshot', () => {
  let server: RunningApp;
  let counted: Awaited<ReturnType<typeof countedStore>>;
  // The snapshot's age and the sessions' durations follow the app's clock: the tests jump it.
  const clock = jumpingClock();
  before(async () => {
    counted = await countedStore();
    server = await startApp({
      deps: { store: counted.store, clock },
      env: { LOBBY_SNAPSHOT_MS: '1000' },
    });
    await goLive(server.baseUrl, 'first');
  });
  after(async () => {
    await server.close();
    await counted.store.close();
  });

  test('answers with an ETag, and If-None-Match naming it gets 304 with no body', async () => {
    const first = await call(server.baseUrl, 'GET', ACTIVE);
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^W\/"[\w-]+"$/);
    assert.equal(first.headers.get('cache-control'), 'no-cache');
    const again = await fetch(`${server.baseUrl}${ACTIVE}`, { headers: { 'if-none-match': etag! } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
  });

  test('an error has no ETag and is never answered 304', async () => {
    for (const query of ['?limit=0', '?limit=abc', '?cursor=!!!']) {
      const refused = await fetch(`${server.baseUrl}${ACTIVE}${query}`);
      assert.ok(refused.status === 400 || refused.status === 422, `${query}: ${refused.status}`);
      assert.equal(refused.headers.get('etag'), null, query);
      const again = await fetch(`${server.baseUrl}${ACTIVE}${query}`, { headers: { 'if-none-match': '*' } });
      assert.equal(again.status, refused.status, query);
      assert.match(await again.text(), /"detail"/);
    }
  });

  test('the ETag stays while only live durations tick, so a later poll still gets 304', async () => {
    const first = await call(server.baseUrl, 'GET', ACTIVE);
    clock.jump(2_100);
    const later = await call(server.baseUrl, 'GET', ACTIVE);
    assert.notDeepEqual(
      later.body.items.map((s: { live_duration_seconds: number }) => s.live_duration_seconds),
      first.body.items.map((s: { live_duration_seconds: number }) => s.live_duration_seconds),
      'durations ticked',
    );
    assert.equal(later.headers.get('etag'), first.headers.get('etag'));
    const res = await fetch(`${server.baseUrl}${ACTIVE}`, {
      headers: { 'if-none-match': first.headers.get('etag')! },
    });
    assert.equal(res.status, 304);
  });

  test('a 304 costs no database query', async () => {
    const etag = (await call(server.baseUrl, 'GET', ACTIVE)).headers.get('etag')!;
    counted.reset();
    for (let i = 0; i < 20; i += 1) {
      const res = await fetch(`${server.baseUrl}${ACTIVE}`, { headers: { 'if-none-match': etag } });
      assert.equal(res.status, 304);
    }
    assert.equal(counted.queries(), 0);
  });

  test('requests within LOBBY_SNAPSHOT_MS share one read; after it the lobby is read again', async () => {
    await call(server.baseUrl, 'GET', ACTIVE);
    counted.reset();
    await Promise.all(Array.from({ length: 20 }, () => call(server.baseUrl, 'GET', ACTIVE)));
    assert.equal(counted.queries(), 0, 'served from the snapshot');
    clock.jump(1_100);
    await call(server.baseUrl, 'GET', ACTIVE);
    assert.ok(counted.queries() > 0, 'read again once the snapshot was a second old');
  });

  test('a session that starts shows at once, and the ETag changes', async () => {
    const before = await call(server.baseUrl, 'GET', ACTIVE);
    const { vendor, session } = await goLive(server.baseUrl, 'second');
    const after = await call(server.baseUrl, 'GET', ACTIVE);
    assert.ok(after.body.items.some((s: { session_id: string }) => s.session_id === session.session_id));
    assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    const ended = await call(server.baseUrl, 'GET', ACTIVE);
    assert.ok(ended.body.items.every((s: { session_id: string }) => s.session_id !== session.session_id));
  });

  test('the body is the contract page, paged like the uncached route', async () => {
    await goLive(server.baseUrl, 'third');
    const res = await call(server.baseUrl, 'GET', `${ACTIVE}?limit=1`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(Object.keys(res.body).sort(), ['items', 'next_cursor']);
    assert.equal(res.body.items.length, 1);
    assert.equal(typeof res.body.next_cursor, 'string');
  });

  test("the web client's lobby() asks with If-None-Match and keeps its page on a 304", async () => {
    const statuses: number[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
      const response = await realFetch(...args);
      statuses.push(response.status);
      return response;
    };
    try {
      const api = new ApiClient(server.baseUrl);
      const first = await api.lobby(50);
      const second = await api.lobby(50, first);
      assert.equal(second, first, 'the same page, not parsed again');
      assert.deepEqual(statuses, [200, 304]);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});

describe('the lobby snapshot turned off (LOBBY_SNAPSHOT_MS=0)', () => {
  test('every request reads the database', async () => {
    const counted = await countedStore();
    const server = await startApp({ deps: { store: counted.store }, env: { LOBBY_SNAPSHOT_MS: '0' } });
    try {
      const first = await call(server.baseUrl, 'GET', ACTIVE);
      counted.reset();
      const again = await fetch(`${server.baseUrl}${ACTIVE}`, {
        headers: { 'if-none-match': first.headers.get('etag')! },
      });
      assert.equal(again.status, 304, 'still revalidated by its ETag');
      assert.ok(counted.queries() > 0);
    } finally {
      await server.close();
      await counted.store.close();
    }
  });
});

describe('the lobby across instances', { skip: needsPostgres() ?? needsRedis() }, () => {
  let pair: RunningPair;
  let a: RunningApp;
  let b: RunningApp;
  before(async () => {
    pair = await startPair('lobby', { env: { LOBBY_SNAPSHOT_MS: '1000' } });
    ({ a, b } = pair);
  });
  after(async () => {
    await pair?.close();
  });

  test('a session started or ended on one instance shows at once in the lobby of another', async () => {
    await call(a.baseUrl, 'GET', ACTIVE);
    const { vendor, session } = await goLive(b.baseUrl);
    await sleep(50); // the Redis hop
    const started = await call(a.baseUrl, 'GET', ACTIVE);
    assert.ok(started.body.items.some((s: { session_id: string }) => s.session_id === session.session_id));
    await call(b.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    await sleep(50);
    const ended = await call(a.baseUrl, 'GET', ACTIVE);
    assert.ok(ended.body.items.every((s: { session_id: string }) => s.session_id !== session.session_id));
  });
});
