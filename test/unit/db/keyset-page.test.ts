import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { encodeCursor } from '../../../src/contract/cursors.js';
import { DomainError } from '../../../src/contract/errors.js';
import { keysetPage, type KeysetList } from '../../../src/db/keyset-page.js';

/** A list of `n` items, newest first, as a table would read it. */
function list(n: number): KeysetList<{ id: string }> & { items: { id: string }[] } {
  const items = Array.from({ length: n }, () => ({ id: randomUUID() }));
  return {
    items,
    has: async (id) => items.some((item) => item.id === id),
    read: async (afterId, take) => {
      const start = afterId === undefined ? 0 : items.findIndex((item) => item.id === afterId) + 1;
      return items.slice(start, start + take);
    },
  };
}

test('pages follow each other through their cursors, and the last has none', async () => {
  const five = list(5);
  const first = await keysetPage(2, undefined, five);
  const second = await keysetPage(2, first.next_cursor!, five);
  const last = await keysetPage(2, second.next_cursor!, five);
  assert.deepEqual([...first.rows, ...second.rows, ...last.rows], five.items);
  assert.equal(last.next_cursor, null);
});

test('a page that ends the list exactly has no next cursor', async () => {
  const page = await keysetPage(2, undefined, list(2));
  assert.equal(page.rows.length, 2);
  assert.equal(page.next_cursor, null);
});

test('a cursor naming nothing of the list, or not one of ours, is bad_cursor', async () => {
  for (const cursor of [encodeCursor(randomUUID()), 'not-a-cursor']) {
    await assert.rejects(keysetPage(2, cursor, list(3)), (error: unknown) => {
      return error instanceof DomainError && error.code === 'bad_cursor';
    });
  }
});
