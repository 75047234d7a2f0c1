import { performance } from 'node:perf_hooks';
import type { SessionFactsWithChat, Sessions } from '../live/sessions.js';

interface Entry {
  /** When the read started (performance.now()), to tell reads before and after a subscription. */
  readAt: number;
  facts: Promise<SessionFactsWithChat | undefined>;
}

/**
 * Session facts for the realtime endpoints' admission, read from the database once per session
 * for a whole join storm instead of once per connection. Concurrent lookups share one read.
 *
 * A cached "live" may be stale by up to `ttlMs`; `lookup(id, freshAfter)` forces a read that
 * started after `freshAfter`, which is how a room that just subscribed to the bus makes sure it
 * did not miss the session's end (see live-socket.ts).
 */
export class SessionDirectory {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly sessions: Sessions,
    private readonly ttlMs = 2_000,
    private readonly maxEntries = 10_000,
    /** The clock of `readAt` and `freshAfter`: performance.now(), as the hubs' subscribedAt. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  lookup(id: string, freshAfter = Number.NEGATIVE_INFINITY): Promise<SessionFactsWithChat | undefined> {
    const now = this.now();
    const cached = this.#entries.get(id);
    if (cached && cached.readAt >= freshAfter && now - cached.readAt < this.ttlMs) return cached.facts;
    const entry: Entry = { readAt: now, facts: this.sessions.find(id) };
    // A failed read is not remembered: the next lookup tries again.
    entry.facts.catch(() => this.forget(id, entry));
    if (this.#entries.size >= this.maxEntries) this.#entries.clear();
    this.#entries.set(id, entry);
    return entry.facts;
  }

  /** The session ended (heard from the bus): nothing cached may admit anyone into it now. */
  ended(id: string): void {
    this.changed(id);
  }

  /** The session's pin or chat settings changed (heard from the bus): read its facts afresh. */
  changed(id: string): void {
    this.#entries.delete(id);
  }

  private forget(id: string, entry: Entry): void {
    if (this.#entries.get(id) === entry) this.#entries.delete(id);
  }
}
