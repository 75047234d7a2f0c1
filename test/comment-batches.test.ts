/**
 * Comments that arrive together, of one session or many, are written together
 * (src/live/batches.ts): each session's offsets stay strictly increasing and gap-free across
 * instances, nothing refused is stored or takes an offset, one session's refusal (ended, unknown)
 * costs the others in its batch nothing, and slow mode holds within one batch. Two instances on
 * one PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from './support/app.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres } from './support/services.js';

describe('comments written in batches', { skip: needsPostgres() }, () => {
  let database: ThrowawayDatabase;
  let a: RunningApp;
  let b: RunningApp;

  before(async () => {
    database = await createThrowawayDatabase();
    a = await startApp({ store: 'postgres', databaseUrl: database.url });
    b = await startApp({ store: 'postgres', databaseUrl: database.url });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  const post = (server: RunningApp, sessionId: string, token: string, message: string) =>
    call(server.baseUrl, 'POST', `/live/sessions/${sessionId}/comments`, { token, body: { message } });

  /** Every stored comment of the session, in offset order (the REST list pages by offset). */
  const stored = async (sessionId: string) =>
    (await call(a.baseUrl, 'GET', `/live/sessions/${sessionId}/comments?after=0&limit=200`)).body.items as {
      id: string;
      user_id: string;
      message: string;
      offset: number;
    }[];

  const assertGapFree = (offsets: number[]) => {
    const sorted = [...offsets].sort((x, y) => x - y);
    for (let i = 1; i < sorted.length; i++)
      assert.equal(sorted[i], sorted[i - 1]! + 1, `offsets ${sorted.join(', ')}`);
  };

  test('comments posted at once on two instances get gap-free, increasing offsets, each stored once', async () => {
    const { session } = await goLive(a.baseUrl);
    const id = session.session_id;
    const users = await Promise.all(Array.from({ length: 5 }, () => register(a.baseUrl)));
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => post(i % 2 ? b : a, id, users[i % 5]!.token, `comment ${i}`)),
    );
    assert.deepEqual(
      replies.map((r) => r.status),
      replies.map(() => 200),
    );
    const offsets = replies.map((r) => r.body.offset as number);
    assert.equal(new Set(offsets).size, 100, 'no offset given twice');
    assertGapFree(offsets);
    const rows = await stored(id);
    assert.equal(rows.length, 100);
    assert.deepEqual(
      rows.map((r) => r.offset),
      [...offsets].sort((x, y) => x - y),
    );
    const byId = new Map(replies.map((r) => [r.body.id, r.body.message]));
    for (const row of rows) assert.equal(byId.get(row.id), row.message);
  });

  test('a refused comment in a batch takes no offset and is not stored', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const id = session.session_id;
    const [viewer, banned] = await Promise.all([register(a.baseUrl), register(a.baseUrl)]);
    const ban = await call(a.baseUrl, 'POST', `/live/sessions/${id}/bans`, {
      token: vendor.token,
      body: { user_id: banned.user.id },
    });
    assert.equal(ban.status, 200);
    const terms = await call(a.baseUrl, 'PUT', '/me/blocked-terms', {
      token: vendor.token,
      body: { terms: ['scam'] },
    });
    assert.equal(terms.status, 200);
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? post(a, id, banned.token, `banned ${i}`)
          : post(a, id, viewer.token, i % 3 === 1 ? `fine ${i}` : `a scam ${i}`),
      ),
    );
    const accepted = replies.filter((r) => r.status === 200);
    assert.equal(accepted.length, 10, JSON.stringify(replies.map((r) => r.status)));
    assert.ok(replies.every((r) => r.status === 200 || r.status === 403 || r.status === 422));
    assertGapFree(accepted.map((r) => r.body.offset));
    const rows = await stored(id);
    assert.deepEqual(rows.map((r) => r.message).sort(), accepted.map((r) => r.body.message).sort());
  });

  test('slow mode holds inside one batch: one of five comments sent at once is accepted', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const id = session.session_id;
    const viewer = await register(a.baseUrl);
    const set = await call(a.baseUrl, 'PATCH', `/live/sessions/${id}/chat`, {
      token: vendor.token,
      body: { slow_mode_seconds: 30 },
    });
    assert.equal(set.status, 200);
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) => post(i % 2 ? b : a, id, viewer.token, `hello ${i}`)),
    );
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 429, 429, 429, 429]);
    assert.equal((await stored(id)).length, 1);
  });

  test('comments to many sessions at once, on two instances, are each session gap-free from 1 and stored once', async () => {
    const vendor = await register(a.baseUrl, 'vendor');
    const sessions: string[] = [];
    for (let i = 0; i < 10; i++) {
      const opened = await call(a.baseUrl, 'POST', '/live/sessions', {
        token: vendor.token,
        body: { title: `s${i}` },
      });
      sessions.push(opened.body.session_id);
    }
    const users = await Promise.all(Array.from({ length: 4 }, () => register(a.baseUrl)));
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post(i % 2 ? b : a, sessions[i % 10]!, users[i % 4]!.token, `to ${i % 10}: ${i}`),
      ),
    );
    assert.deepEqual(
      replies.map((r) => r.status),
      replies.map(() => 200),
    );
    for (const [index, id] of sessions.entries()) {
      const mine = replies.filter((r) => r.body.session_id === id).map((r) => r.body.offset as number);
      assert.equal(mine.length, 20);
      assert.equal(Math.min(...mine), 1);
      assertGapFree(mine);
      const rows = await stored(id);
      assert.deepEqual(
        rows.map((r) => r.offset),
        [...mine].sort((x, y) => x - y),
      );
      assert.ok(rows.every((r) => r.message.startsWith(`to ${index}: `)));
    }
  });

  test("an ended or unknown session's comments are refused while the others sent with them are stored", async () => {
    const { vendor, session: live } = await goLive(a.baseUrl);
    const opened = await call(a.baseUrl, 'POST', '/live/sessions', {
      token: vendor.token,
      body: { title: 'to end' },
    });
    const ended = opened.body.session_id as string;
    await call(a.baseUrl, 'POST', `/live/sessions/${ended}/end`, { token: vendor.token });
    const terms = await call(a.baseUrl, 'PUT', '/me/blocked-terms', {
      token: vendor.token,
      body: { terms: ['scam'] },
    });
    assert.equal(terms.status, 200);
    const unknown = crypto.randomUUID();
    const viewer = await register(a.baseUrl);
    const targets = [live.session_id, ended, unknown, live.session_id];
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        post(a, targets[i % 4]!, viewer.token, i % 8 === 3 ? `a scam ${i}` : `hello ${i}`),
      ),
    );
    const statusOf = (id: string) => [
      ...new Set(replies.filter((_, i) => targets[i % 4] === id && i % 8 !== 3).map((r) => r.status)),
    ];
    assert.deepEqual(statusOf(ended), [409]);
    assert.deepEqual(statusOf(unknown), [404]);
    assert.deepEqual(statusOf(live.session_id), [200]);
    const accepted = replies.filter((r) => r.status === 200);
    assert.equal(accepted.length, 15, 'every comment to the live session but the blocked ones');
    assertGapFree(accepted.map((r) => r.body.offset));
    const rows = await stored(live.session_id);
    assert.deepEqual(rows.map((r) => r.message).sort(), accepted.map((r) => r.body.message).sort());
    assert.equal((await stored(ended)).length, 0);
  });
});
