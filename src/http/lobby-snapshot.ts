import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SessionPage } from '../contract/rest.js';

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
  readonly #pages = new Map<string, { page: LobbyPage; at: number }>();
  readonly #loading = new Map<string, Promise<LobbyPage>>();
  #generation = 0;

  constructor(
    private readonly load: (limit: number, cursor: string | undefined) => Promise<SessionPage>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The page, from the snapshot when it is fresh; `serialize` turns a page read into its body. */
  get(
    limit: number,
    cursor: string | undefined,
    serialize: (page: SessionPage) => string,
  ): Promise<LobbyPage> {
    const key = `${limit}:${cursor ?? ''}`;
    const kept = this.#pages.get(key);
    // A clock that went back (the app's clock is the wall clock) makes a page stale, not fresh.
    const age = kept ? this.now() - kept.at : -1;
    if (kept && age >= 0 && age < this.maxAgeMs) return Promise.resolve(kept.page);
    const loading = this.#loading.get(key);
    if (loading) return loading;
    const generation = this.#generation;
    const started = this.now();
    const read = this.load(limit, cursor).then((page) => {
      const served = { body: serialize(page), etag: etagOf(page) };
      if (generation === this.#generation) {
        if (this.#pages.size >= MAX_PAGES) this.#pages.delete(this.#pages.keys().next().value as string);
        this.#pages.set(key, { page: served, at: started });
      }
      return served;
    });
    this.#loading.set(key, read);
    const forget = () => {
      if (this.#loading.get(key) === read) this.#loading.delete(key);
    };
    read.then(forget, forget);
    return read;
  }

  /** The lobby changed (a session started or ended): the next request reads it afresh. */
  invalidate(): void {
    this.#generation += 1;
    this.#pages.clear();
    this.#loading.clear();
  }
}
