/**
 * What a client may send is budgeted per sender, in messages and bytes, from its first frame:
 * a flooding sender is closed, and never gets another peer dropped or the server's memory grown.
 * The budget's own arithmetic is unit-tested in test/unit/realtime/receive-budget.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startApp, type RunningApp } from './support/app.js';
import { goLive, register } from './support/http.js';
import { needsPostgres } from './support/services.js';
import { sleep, SocketPool, TestSocket } from './support/ws.js';

describe('receive limits on real sockets', { skip: needsPostgres() }, () => {
  let server: RunningApp;
  const sockets = new SocketPool();
  const open = (path: string) => sockets.open(server.wsUrl + path);

  before(async () => {
    server = await startApp({ store: 'postgres' });
  });
  after(async () => {
    sockets.closeAll();
    await server.close();
  });

  /** Runs `body` while the users table is locked, so every admission waits on the database. */
  const whileAdmissionWaits = async (body: () => Promise<void>) => {
    const client = new pg.Client({ connectionString: server.config.databaseUrl });
    await client.connect();
    try {
      await client.query('begin');
      await client.query('lock table users in access exclusive mode');
      await body();
    } finally {
      await client.query('rollback');
      await client.end();
    }
  };

  test('a viewer flooding /ws/signal with large frames is closed; the vendor reading along stays', async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const v = await open(`/ws/signal/${session.session_id}?token=${vendor.token}`);
    v.send({ type: 'role', value: 'vendor' });
    await v.waitForType('welcome');
    const attackers = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const viewer = await register(server.baseUrl);
        const socket = await open(`/ws/signal/${session.session_id}?token=${viewer.token}`);
        socket.send({ type: 'role', value: 'viewer' });
        await socket.waitForType('welcome');
        return socket;
      }),
    );
    // As the review did: ~280 frames of 60 KB at once (inside the documented burst of 300
    // messages), then 90 a second, from three viewers together.
    const sdp = 'a'.repeat(60_000);
    const flood = async (socket: TestSocket) => {
      for (let i = 0; i < 280 && socket.ws.readyState === socket.ws.OPEN; i++)
        socket.send({ type: 'offer', sdp });
      for (let i = 0; i < 90 && socket.ws.readyState === socket.ws.OPEN; i++) {
        socket.send({ type: 'candidate', sdp });
        await sleep(11);
      }
    };
    await Promise.all(attackers.map(flood));
    await sleep(500);
    assert.equal(v.ws.readyState, v.ws.OPEN, 'the vendor is still connected');
    v.send({ type: 'ping' });
    await v.waitForType('pong');
    for (const attacker of attackers) assert.equal(await attacker.closeCode(), 1008);
    const reasons = await Promise.all(attackers.map((a) => a.closed));
    assert.match(reasons[0]!.reason, /too many bytes/);
  });

  test('frames sent while admission waits on the database count from the first byte', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    await whileAdmissionWaits(async () => {
      const socket = await open(`/ws/signal/${session.session_id}?token=${viewer.token}`);
      const frame = JSON.stringify({ type: 'candidate', sdp: 'x'.repeat(60_000) });
      for (let i = 0; i < 200 && socket.ws.readyState === socket.ws.OPEN; i++) socket.send(frame);
      // Closed while still waiting for admission, not buffered until it ends.
      assert.equal(await socket.closeCode(3_000), 1008);
    });
  });

  test('a frame over the /ws/live size limit is refused before admission too', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    await whileAdmissionWaits(async () => {
      const socket = await open(`/ws/live/${session.session_id}?token=${viewer.token}`);
      socket.send({ type: 'comment', message: 'x'.repeat(20_000) });
      assert.equal(await socket.closeCode(3_000), 1009);
    });
  });

  test('many small messages before admission are closed as a flood', async () => {
    const { session } = await goLive(server.baseUrl);
    const viewers = await Promise.all(Array.from({ length: 5 }, () => register(server.baseUrl)));
    await whileAdmissionWaits(async () => {
      const flooders = await Promise.all(
        viewers.map((v) => open(`/ws/live/${session.session_id}?token=${v.token}`)),
      );
      for (const socket of flooders) for (let i = 0; i < 100; i++) socket.send({ type: 'ping' });
      for (const socket of flooders) assert.equal(await socket.closeCode(3_000), 1008);
    });
  });
});
