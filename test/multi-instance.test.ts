import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { call, goLive, register } from './support/http.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import { needsPostgres, needsRedis } from './support/services.js';
import { eventually, TestSocket } from './support/ws.js';
import { MESH } from './support/contract.js';

const skip = needsPostgres() ?? needsRedis();

describe('two instances sharing PostgreSQL and Redis', { skip }, () => {
  let database: ThrowawayDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  const sockets: TestSocket[] = [];
  const open = async (url: string) => {
    const socket = await TestSocket.open(url);
    sockets.push(socket);
    return socket;
  };

  const prefix = `sm-test-${crypto.randomUUID().slice(0, 8)}:`;

  before(async () => {
    database = await createThrowawayDatabase();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: process.env.REDIS_URL as string,
      // This run's own keys and channels in the shared Redis.
      REDIS_PREFIX: prefix,
    };
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  test('each instance registers its presence in Redis as soon as it is up, not a heartbeat later', async () => {
    const redis = new Redis(process.env.REDIS_URL as string);
    try {
      // The heartbeat interval is 5 s; both instances started well under that ago.
      await eventually(
        async () => (await redis.keys(`${prefix}instance:*`)).length === 2,
        'both instances are registered',
        2_500,
      );
    } finally {
      redis.disconnect();
    }
  });

  // First, while both instances are seconds old: a new instance's viewers must count at once.
  test('viewer_count is the sum over both instances, over WebSocket and REST', async () => {
    const { session } = await goLive(a.baseUrl);
    const token = (await register(a.baseUrl)).token;
    const url = (server: ServerProcess) => `${server.wsUrl}/ws/live/${session.session_id}?token=${token}`;
    const watcher = await open(url(a));
    await Promise.all([open(url(a)), open(url(b)), open(url(b)), open(url(b))]);
    await watcher.waitFor((m) => m.type === 'viewer_count' && m.count === 5, 5_000);
    for (const server of [a, b]) {
      const res = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
      assert.equal(res.body.viewer_count, 5);
    }
  });

  test('both instances report the Redis bus as healthy', async () => {
    for (const server of [a, b]) {
      const health = await call(server.baseUrl, 'GET', '/health');
      assert.deepEqual(health.body, {
        status: 'ok',
        db: 'ok',
        db_kind: 'postgres',
        bus: 'redis',
        media: MESH,
      });
    }
  });

  test('comments posted on A reach viewers on B in posting order', async () => {
    const { session } = await goLive(a.baseUrl);
    const viewer = await register(b.baseUrl);
    const onB = await open(`${b.wsUrl}/ws/live/${session.session_id}?token=${viewer.token}`);
    await onB.waitForType('session_info');
    const posted: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await call(a.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
        token: viewer.token,
        body: { message: `comment ${i}` },
      });
      assert.equal(res.status, 200);
      posted.push(res.body.id);
    }
    await onB.waitFor(() => onB.ofType('comment').length === 20);
    assert.deepEqual(
      onB.ofType('comment').map((c) => c.id),
      posted,
    );
  });

  test('a vendor on A and a viewer on B complete an offer/answer/candidate exchange', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const v = await open(`${a.wsUrl}/ws/signal/${session.session_id}?token=${vendor.token}`);
    v.send({ type: 'role', value: 'vendor' });
    const vendorPeer = (await v.waitForType('welcome')).peer_id;
    const w = await open(
      `${b.wsUrl}/ws/signal/${session.session_id}?token=${(await register(b.baseUrl)).token}`,
    );
    w.send({ type: 'role', value: 'viewer' });
    const viewerPeer = (await w.waitForType('welcome')).peer_id;

    assert.equal((await v.waitForType('peer_joined')).peer_id, viewerPeer);
    assert.equal((await w.waitForType('vendor_joined')).peer_id, vendorPeer);
    v.send({ type: 'offer', to: viewerPeer, sdp: 'offer-sdp' });
    assert.deepEqual(await w.waitForType('offer'), {
      type: 'offer',
      to: viewerPeer,
      sdp: 'offer-sdp',
      from: vendorPeer,
    });
    w.send({ type: 'answer', to: vendorPeer, sdp: 'answer-sdp' });
    assert.equal((await v.waitForType('answer')).from, viewerPeer);
    v.send({ type: 'candidate', to: viewerPeer, candidate: 'vendor-candidate' });
    w.send({ type: 'candidate', candidate: 'viewer-candidate' });
    assert.equal((await w.waitForType('candidate')).candidate, 'vendor-candidate');
    assert.equal((await v.waitForType('candidate')).candidate, 'viewer-candidate');
  });

  test('ending a session on A closes viewers on B with session_ended and 1000', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const onB = await open(
      `${b.wsUrl}/ws/live/${session.session_id}?token=${(await register(b.baseUrl)).token}`,
    );
    await onB.waitForType('session_info');
    await call(a.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    assert.equal(await onB.closeCode(), 1000);
    assert.equal(onB.messages.at(-1).type, 'session_ended');
  });

  test('a session B served live a moment ago shows as ended on B once its viewers there hear the end', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const onB = await open(
      `${b.wsUrl}/ws/live/${session.session_id}?token=${(await register(b.baseUrl)).token}`,
    );
    await onB.waitForType('session_info');
    assert.equal((await call(b.baseUrl, 'GET', `/live/sessions/${session.session_id}`)).body.is_live, true);
    await call(a.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    // A says "ended" on the bus's sessions channel before it tells the session's viewers.
    await onB.waitForType('session_ended');
    const onBNow = await call(b.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.equal(onBNow.body.is_live, false);
    assert.ok(onBNow.body.stats, 'the ended session carries its stats');
  });

  // Last: it kills B. With the default heartbeat (5 s) and TTL (20 s), B's viewers must go within 30 s.
  test("after kill -9 of B, A's count drops B's viewers within 30 s", { timeout: 60_000 }, async () => {
    const { session } = await goLive(a.baseUrl);
    const token = (await register(a.baseUrl)).token;
    const watcher = await open(`${a.wsUrl}/ws/live/${session.session_id}?token=${token}`);
    await Promise.all([1, 2, 3].map(() => open(`${b.wsUrl}/ws/live/${session.session_id}?token=${token}`)));
    await watcher.waitFor((m) => m.type === 'viewer_count' && m.count === 4, 5_000);
    const seen = watcher.messages.length;
    const killedAt = Date.now();
    b.child.kill('SIGKILL');
    await watcher.waitFor((m) => m.type === 'viewer_count' && m.count === 1, 30_000, seen);
    const rest = await call(a.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.equal(rest.body.viewer_count, 1);
    assert.ok(Date.now() - killedAt <= 30_000);
  });
});
