import type { ApiClient } from './api.js';
import type { LiveSession, UserId } from './types.js';

/** The server's largest page: fewest round trips. */
const PAGE_SIZE = 200;
/** A cursor that never ran out would be a server fault; 10,000 live sessions is past any real day. */
const MAX_PAGES = 50;

/**
 * The live sessions of one vendor, e.g. a stream they started on another device. The API has no
 * "mine" filter, so this walks every page of `GET /live/sessions/active` by `next_cursor`.
 */
export async function ownLiveSessions(api: ApiClient, vendorId: UserId): Promise<LiveSession[]> {
  const own: LiveSession[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const reply = await api.activeSessions(PAGE_SIZE, cursor);
    own.push(...reply.items.filter((session) => String(session.vendor.id) === String(vendorId)));
    cursor = reply.next_cursor;
    if (!cursor) break;
  }
  return own;
}
