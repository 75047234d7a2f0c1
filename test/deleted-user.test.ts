/**
 * A token outlives its user: once the user is deleted, the token authenticates no one, on every
 * route and socket, and one such token among many joiners fails only itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { USER_CHECK_MS } from '../src/auth/existing-users.js';
import { openStore, type Store } from '../src/db/store.js';
import { Views } from '../src/live/views.js';
import { startApp, type RunningApp } from './support/app.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres } from './support/services.js';
import { eventually, SocketPool } from './support/ws.js';

// agora-token's own known-answer credentials (as test/agora.test.ts).
const AGORA_ENV = {
  AGORA_APP_ID: '970CA35de60c44645bbae8a215061b33',
  AGORA_APP_CERTIFICATE: '5CFd2fd1755d40ecb72977518be15d3b',
};

describe('a deleted user', { skip: needsPostgres() }, () => {
  let database: ThrowawayDatabase;
  let store: Store;
  let server: RunningApp;
  const sockets = new SocketPool();
  const open = (path: string) => sockets.open(server.wsUrl + path);

  before(async () => {
    database = await createThrowawayDatabase();
    store = await openStore({ databaseUrl: database.url, dataDir: 'memory://' });
    server = await startApp({ store: 'postgres', deps: { store }, env: AGORA_ENV });
  });
  after(async () => {
    sockets.closeAll();
    await server?.close();
    await store?.close();
    await database?.drop();
  });

  /** Registers a user, deletes it, and returns its still-unexpired token. */
  const orphan = async (role: 'vendor' | 'user' = 'user') => {
    const account = await register(server.baseUrl, role);
    await store.db.deleteFrom('users').where('id', '=', account.user.id).execute();
    return account;
  };

  test('deleted while using its token is refused within USER_CHECK_MS, and stays refused', async () => {
    const account = await register(server.baseUrl);
    const me = () => call(server.baseUrl, 'GET', '/me', { token: account.token });
    assert.equal((await me()).status, 200);
    await store.db.deleteFrom('users').where('id', '=', account.user.id).execute();
    await eventually(
      async () => (await me()).status === 401,
      'the deleted user is refused',
      // The bound, plus room for the requests of a loaded machine.
      USER_CHECK_MS + 1000,
    );
    assert.equal((await me()).status, 401);
  });

  test('is closed with 4401 on /ws/live', async () => {
    const { session } = await goLive(server.baseUrl);
    const { token } = await orphan();
    const socket = await open(`/ws/live/${session.session_id}?token=${token}`);
    assert.equal(await socket.closeCode(), 4401);
  });

  test('is closed with 4401 on /ws/signal', async () => {
    const { session } = await goLive(server.baseUrl);
    const { token } = await orphan();
    const socket = await open(`/ws/signal/${session.session_id}?token=${token}`);
    assert.equal(await socket.closeCode(), 4401);
    assert.equal(socket.ofType('welcome').length, 0);
  });

  test('gets no Agora RTC or RTM token: 401', async () => {
    const { session } = await goLive(server.baseUrl);
    const { token } = await orphan();
    const rtc = await call(server.baseUrl, 'GET', `/rtc/${session.session_id}/audience/uid/42`, { token });
    assert.equal(rtc.status, 401, JSON.stringify(rtc.body));
    const rtm = await call(server.baseUrl, 'GET', '/rtm/someone', { token });
    assert.equal(rtm.status, 401, JSON.stringify(rtm.body));
    const rte = await call(server.baseUrl, 'GET', `/rte/${session.session_id}/audience/uid/42`, { token });
    assert.equal(rte.status, 401, JSON.stringify(rte.body));
  });

  test('joining among valid viewers at once fails only itself', async () => {
    for (let round = 0; round < 3; round++) {
      const { session } = await goLive(server.baseUrl);
      const valid = await Promise.all(Array.from({ length: 11 }, () => register(server.baseUrl)));
      const ghost = await orphan();
      const tokens = [
        ...valid.slice(0, 5).map((v) => v.token),
        ghost.token,
        ...valid.slice(5).map((v) => v.token),
      ];
      const joined = await Promise.all(tokens.map((t) => open(`/ws/live/${session.session_id}?token=${t}`)));
      const ghostSocket = joined.splice(5, 1)[0]!;
      assert.equal(await ghostSocket.closeCode(), 4401);
      for (const socket of joined) {
        const info = await socket.waitForType('session_info');
        assert.equal(info.is_live, true);
      }
    }
  });

  test('deleted between signing in and the unique-view insert is skipped, not failing the batch', async () => {
    const { session } = await goLive(server.baseUrl);
    const valid = await Promise.all(Array.from({ length: 6 }, () => register(server.baseUrl)));
    const ghost = await orphan();
    const views = new Views(store.db);
    // The first call starts an insert; the rest gather in the next batch, ghost among them.
    const totals = await Promise.all([
      views.recordAndTotal(session.session_id, valid[0]!.user.id),
      ...valid.slice(1, 3).map((v) => views.recordAndTotal(session.session_id, v.user.id)),
      views.recordAndTotal(session.session_id, ghost.user.id),
      ...valid.slice(3).map((v) => views.recordAndTotal(session.session_id, v.user.id)),
    ]);
    assert.ok(
      totals.every((n) => n >= 1 && n <= 6),
      JSON.stringify(totals),
    );
    assert.equal(await views.total(session.session_id), 6);
  });
});
