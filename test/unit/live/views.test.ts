/**
 * Views: unique viewers recorded in batches, one statement per batch however many join, on an
 * in-memory PGlite (no service; opening it takes about two seconds, once for the whole file).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from 'kysely';
import { openStore, type Store } from '../../../src/db/store.js';
import { Views } from '../../../src/live/views.js';

let store: Store;

/**
 * Counts the statements Views runs, and can hold their results (as if the database were slow)
 * or fail them.
 */
class Statements implements KyselyPlugin {
  count = 0;
  /** While set, results wait for it. */
  hold: Promise<void> | undefined;
  /** Makes the next result fail. */
  failNext = false;

  transformQuery(args: PluginTransformQueryArgs) {
    this.count++;
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs) {
    await this.hold;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('connection lost');
    }
    return args.result;
  }
}

function views() {
  const statements = new Statements();
  return { views: new Views(store.db.withPlugin(statements)), statements };
}

async function user(): Promise<string> {
  const row = await store.db
    .insertInto('users')
    .values({ email: `${randomUUID()}@example.com`, name: 'Viewer', password_hash: 'x', role: 'user' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(row.id);
}

async function session(): Promise<string> {
  const row = await store.db
    .insertInto('live_sessions')
    .values({ vendor_id: await user(), title: 'a session' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function storedViewers(sessionId: string): Promise<string[]> {
  const rows = await store.db
    .selectFrom('session_views')
    .select('user_id')
    .where('session_id', '=', sessionId)
    .execute();
  return rows.map((r) => String(r.user_id)).sort();
}

/** Resolves once `statements` has started `n` statements. */
async function started(statements: Statements, n: number): Promise<void> {
  while (statements.count < n) await new Promise((resolve) => setImmediate(resolve));
}

describe('Views', () => {
  before(async () => {
    store = await openStore({ databaseUrl: undefined, dataDir: 'memory://' });
  });
  after(async () => {
    await store?.close();
  });

  test('recordAndTotal resolves with the total that includes the viewer', async () => {
    const { views: v } = views();
    const s = await session();
    assert.equal(await v.recordAndTotal(s, await user()), 1);
    assert.equal(await v.recordAndTotal(s, await user()), 2);
  });

  test('a viewer recorded twice counts once', async () => {
    const { views: v } = views();
    const s = await session();
    const u = await user();
    await v.recordAndTotal(s, u);
    assert.equal(await v.recordAndTotal(s, u), 1);
  });

  test('viewers joining in one turn are recorded by one statement', async () => {
    const { views: v, statements } = views();
    const s = await session();
    const users = await Promise.all([user(), user(), user()]);
    const totals = await Promise.all(users.map((u) => v.recordAndTotal(s, u)));
    assert.deepEqual(totals, [3, 3, 3]);
    assert.equal(statements.count, 1);
    assert.deepEqual(await storedViewers(s), [...users].sort());
  });

  test('viewers joining while an insert runs share the next statement', async () => {
    const { views: v, statements } = views();
    const s = await session();
    const [first, ...later] = await Promise.all([user(), user(), user(), user()]);
    let release = () => undefined as void;
    statements.hold = new Promise((resolve) => (release = resolve));
    const firstTotal = v.recordAndTotal(s, first);
    await started(statements, 1);
    const laterTotals = later.map((u) => v.recordAndTotal(s, u));
    release();
    assert.equal(await firstTotal, 1);
    assert.deepEqual(await Promise.all(laterTotals), [4, 4, 4]);
    assert.equal(statements.count, 2);
  });

  test("the next batch's statement starts only when the running one is done", async () => {
    const { views: v, statements } = views();
    const s = await session();
    const [first, second] = await Promise.all([user(), user()]);
    let release = () => undefined as void;
    statements.hold = new Promise((resolve) => (release = resolve));
    const firstTotal = v.recordAndTotal(s, first);
    await started(statements, 1);
    const secondTotal = v.recordAndTotal(s, second);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(statements.count, 1);
    release();
    await Promise.all([firstTotal, secondTotal]);
    assert.equal(statements.count, 2);
  });

  test('an unknown or deleted user in a batch is skipped; the others are recorded', async () => {
    const { views: v } = views();
    const s = await session();
    const known = await user();
    const totals = await Promise.all([v.recordAndTotal(s, known), v.recordAndTotal(s, randomUUID())]);
    assert.deepEqual(totals, [1, 1]);
    assert.deepEqual(await storedViewers(s), [known]);
  });

  test('a failed insert fails its own viewers only; the batch after it is recorded', async () => {
    const { views: v, statements } = views();
    const s = await session();
    const [first, second] = await Promise.all([user(), user()]);
    let release = () => undefined as void;
    statements.hold = new Promise((resolve) => (release = resolve));
    statements.failNext = true;
    const failed = v.recordAndTotal(s, first);
    await started(statements, 1);
    const next = v.recordAndTotal(s, second);
    release();
    await assert.rejects(failed, /connection lost/);
    // The failed statement's insert did reach the database; only its answer was lost.
    assert.equal(await next, 2);
  });

  test('sessions are batched apart', async () => {
    const { views: v, statements } = views();
    const [s1, s2] = await Promise.all([session(), session()]);
    const [u1, u2, u3] = await Promise.all([user(), user(), user()]);
    const totals = await Promise.all([
      v.recordAndTotal(s1, u1),
      v.recordAndTotal(s2, u2),
      v.recordAndTotal(s2, u3),
    ]);
    assert.deepEqual(totals, [1, 2, 2]);
    assert.equal(statements.count, 2);
  });

  test("total() counts one session's unique viewers", async () => {
    const { views: v } = views();
    const [s1, s2] = await Promise.all([session(), session()]);
    await Promise.all([v.recordAndTotal(s1, await user()), v.recordAndTotal(s2, await user())]);
    await v.recordAndTotal(s1, await user());
    assert.equal(await v.total(s1), 2);
    assert.equal(await v.total(s2), 1);
    assert.equal(await v.total(randomUUID()), 0);
  });
});
