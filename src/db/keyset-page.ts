import { badCursor, decodeCursor, encodeCursor } from '../contract/cursors.js';

/** How one list is paged: which ids its cursors may name, and how to read rows after one. */
export interface KeysetList<Row extends { id: string }> {
  /** Whether `id` is an item of this list (a cursor naming anything else is `bad_cursor`). */
  has: (id: string) => Promise<boolean>;
  /**
   * Up to `take` rows in the list's order (newest first), after the item `afterId` when given:
   * the database compares the key at full precision, never a value rounded through JavaScript.
   */
  read: (afterId: string | undefined, take: number) => Promise<Row[]>;
}

/**
 * One page of a keyset-paged list: the page's rows and the cursor of the next page (null on the
 * last). The one paging helper of every list paged by session (live, past, replays).
 */
export async function keysetPage<Row extends { id: string }>(
  limit: number,
  cursor: string | undefined,
  list: KeysetList<Row>,
): Promise<{ rows: Row[]; next_cursor: string | null }> {
  let afterId: string | undefined;
  if (cursor) {
    afterId = decodeCursor(cursor);
    if (!(await list.has(afterId))) throw badCursor();
  }
  // One more than the page: whether there is a next page, without counting.
  const rows = await list.read(afterId, limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}
