import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SessionPage } from '../contract/rest.js';
import { RecentReads } from '../db/recent-reads.js';

/** A page of the lobby as served: its serialized body and the ETag of those bytes. */
export interface LobbyPage {
  body: string;
  etag: string;
}

/**
 * A weak ETag of what the page says, leaving out each session's `live_duration_seconds`: that
 * one grows every second while nothing else changes, and clients derive it from `started_at`
 * (the web lobby ticks it locally). So a lobby where no session started or ended and no count
 * moved keeps its tag, and a client polling every few seconds gets 304 until something did.
 */
export function etagOf(page: SessionPage): string {
  const content = JSON.stringify([
    page.items.map(({ live_duration_seconds: _ticking, ...rest }) => rest),
    page.next_cursor,
  ]);
  return `W/"${createHash('sha1').update(content).digest('base64url')}"`;
}

/** Distinct pages (limit, cursor) kept at once; past this the oldest are dropped. */
const MAX_PAGES = 64;

/**
 * The shared snapshot behind `GET /live/sessions/active`: each page (limit, cursor) is read
 * from the database and serialized once, then served to every request for at most `maxAgeMs`
 * (viewer counts and durations may be that old). `invalidate()` drops every page at once:
 * features/live.ts calls it when any instance starts or ends a session (the bus carries it), so a new or ended
 * session shows on the next request. Concurrent misses share one read; a read that was under
 * way when the lobby changed serves its own requests but is not kept.
 */
export class LobbySnapshot {
  readonly #pages: RecentReads<LobbyPage>;

  constructor(
    private readonly load: (limit: number, cursor: string | undefined) => Promise<SessionPage>,
    maxAgeMs: number,
    now: () => number = () => performance.now(),
  ) {
    this.#pages = new RecentReads(maxAgeMs, now, MAX_PAGES);
  }

  /** The page, from the snapshot when it is fresh; `serialize` turns a page read into its body. */
  get(
    limit: number,
    cursor: string | undefined,
    serialize: (page: SessionPage) => string,
  ): Promise<LobbyPage> {
    return this.#pages.get(`${limit}:${cursor ?? ''}`, async () => {
      const page = await this.load(limit, cursor);
      return { body: serialize(page), etag: etagOf(page) };
    });
  }

  /** The lobby changed (a session started or ended): the next request reads it afresh. */
  invalidate(): void {
    this.#pages.forgetAll();
  }
}
