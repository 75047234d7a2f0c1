import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExistingUsers, USER_CHECK_MS, type FindUsers } from '../../../src/auth/existing-users.js';
import type { UserId } from '../../../src/db/schema.js';

/** A users table in memory that counts the queries asked of it, on a clock the test moves. */
function setup(initial: UserId[]) {
  const users = new Set(initial.map(String));
  const queries: UserId[][] = [];
  const find: FindUsers = async (ids) => {
    queries.push(ids);
    return ids.filter((id) => users.has(String(id)));
  };
  let now = 1_000_000;
  const existing = new ExistingUsers(find, { now: () => now });
  return { existing, users, queries, advance: (ms: number) => (now += ms) };
}

test('lookups in one turn share one query', async () => {
  const { existing, queries } = setup([1, 2]);
  assert.deepEqual(await Promise.all([existing.exists(1), existing.exists(2), existing.exists(3)]), [
    true,
    true,
    false,
  ]);
  assert.deepEqual(queries, [[1, 2, 3]]);
});

test('a user found is not asked about again within the bound', async () => {
  const { existing, queries, advance } = setup([1]);
  assert.equal(await existing.exists(1), true);
  advance(USER_CHECK_MS - 1);
  assert.equal(await existing.exists(1), true);
  assert.equal(queries.length, 1);
});

test('a deleted user is refused once the bound has passed', async () => {
  const { existing, users, advance } = setup([1]);
  assert.equal(await existing.exists(1), true);
  users.delete('1');
  advance(USER_CHECK_MS);
  assert.equal(await existing.exists(1), false);
});

test('a user not found is asked about again, and found once created', async () => {
  const { existing, users, queries } = setup([]);
  assert.equal(await existing.exists(7), false);
  users.add('7');
  assert.equal(await existing.exists(7), true);
  assert.equal(queries.length, 2);
});

test('a failed query fails its lookups and is not remembered', async () => {
  let fail = true;
  const existing = new ExistingUsers(async (ids) => {
    if (fail) throw new Error('database down');
    return ids;
  });
  await assert.rejects(existing.exists(1), /database down/);
  fail = false;
  assert.equal(await existing.exists(1), true);
});
