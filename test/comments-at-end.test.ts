/**
 * Comments in flight while the vendor ends the session: every acknowledged comment is stored,
 * and no stored comment is later than the session's `ended_at`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore, type Store } from '../src/db/store.js';
import { startApp, type RunningApp } from './support/app.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres } from './support/services.js';
import { sleep } from './support/ws.js';

describe('comments racing the end of their session', { skip: needsPostgres() }, () => {
  let database: ThrowawayDatabase;
  let store: Store;
  let server: RunningApp;

  before(async () => {
    database = await createThrowawayDatabase();
    store = await openStore({ databaseUrl: database.url, dataDir: 'memory://' });
    server = await startApp({ store: 'postgres', deps: { store } });
  });
  after(async () => {
    await server?.close();
    await store?.close();
    await database?.drop();
  });

  test('every 200 is stored and none is later than ended_at, under concurrent posting', async () => {
    for (let round = 0; round < 4; round++) {
      const { vendor, session } = await goLive(server.baseUrl);
      const posters = await Promise.all(Array.from({ length: 10 }, () => register(server.baseUrl)));
      const acknowledged: { id: string; ts: string }[] = [];
      const statuses = new Set<number>();
      let ending = false;
      const post = async (token: string) => {
        for (let i = 0; ; i++) {
          const res = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
            token,
            body: { message: `comment ${i}` },
          });
          statuses.add(res.status);
          if (res.status === 200) acknowledged.push(res.body);
          else break;
          if (ending && i > 1000) break;
        }
      };
      const streams = posters.map((p) => post(p.token));
      await sleep(150 + round * 40);
      ending = true;
      const end = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, {
        token: vendor.token,
      });
      assert.equal(end.status, 200);
      await Promise.all(streams);
      assert.deepEqual([...statuses].sort(), [200, 409], 'comments were accepted, then refused as ended');

      const stored = await store.db
        .selectFrom('comments')
        .select(['id', 'created_at'])
        .where('session_id', '=', session.session_id)
        .execute();
      const storedIds = new Set(stored.map((c) => c.id));
      for (const comment of acknowledged)
        assert.ok(storedIds.has(comment.id), `acknowledged ${comment.id} is stored`);
      assert.equal(stored.length, acknowledged.length, 'nothing stored without an acknowledgement');

      const { ended_at } = await store.db
        .selectFrom('live_sessions')
        .select('ended_at')
        .where('id', '=', session.session_id)
        .executeTakeFirstOrThrow();
      const endedAt = ended_at!.getTime();
      const late = stored.filter((c) => c.created_at.getTime() > endedAt);
      assert.deepEqual(late, [], `comments stored after ended_at ${ended_at!.toISOString()}`);
      assert.equal(new Date(end.body.ended_at).getTime(), endedAt);
      for (const comment of acknowledged) assert.ok(new Date(comment.ts).getTime() <= endedAt);
    }
  });
});
