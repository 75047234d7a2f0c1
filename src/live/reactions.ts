import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { invalid, sessionEnded } from '../contract/errors.js';
import {
  isReactionKind,
  REACTION_KINDS,
  REACTIONS_PER_USER_PER_SECOND,
  totalsOf,
  type ReactionCounts,
  type ReactionKind,
  type ReactionTotals,
} from '../contract/reactions.js';
import { RecentReads } from '../db/recent-reads.js';
import type { Database, UserId } from '../db/schema.js';

/** How long an instance gathers taps before it passes them on: a few bus messages a second per session. */
export const REACTIONS_FLUSH_MS = 250;

/** Where a window's counts go: the realtime layer, which sums them over instances for viewers. */
export interface ReactionEvents {
  reactionsCounted(sessionId: string, counts: ReactionCounts): void;
}

export interface ReactionsOptions {
  /** How long this instance gathers taps before it passes them on and adds them to the totals. */
  flushMs: number;
  /** Whether a session is live (REST taps; a socket was admitted to a live session already). */
  isLive(sessionId: string): Promise<boolean>;
  /** A failed write of the totals (the database is down): logged, the taps still shown. */
  onWriteFailed(error: unknown): void;
}

/**
 * Taps of viewers, counted: each user counts at most REACTIONS_PER_USER_PER_SECOND per second
 * (on this instance; the excess is dropped: reactions are lossy by design), the counts of every
 * session are gathered for `flushMs`, then handed to the realtime layer once and added to the
 * session's totals in one statement for every session at once. A tap costs a few map updates;
 * nothing is awaited per tap.
 */
export class Reactions {
  /** Per session: this window's counts. */
  #window = new Map<string, Record<string, number>>();
  #timer: NodeJS.Timeout | undefined;
  /**
   * Per user (as text): when its last REACTIONS_PER_USER_PER_SECOND counted taps were, oldest
   * first, so that no second, wherever it starts, counts more than that many.
   */
  readonly #budgets = new Map<string, number[]>();
  readonly #totals: RecentReads<ReactionTotals>;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: ReactionEvents,
    private readonly clock: Clock,
    private readonly options: ReactionsOptions,
  ) {
    // session_info of a join storm reads the totals once, not once per joiner.
    this.#totals = new RecentReads(options.flushMs, () => clock.now());
  }

  /** A tap over REST: 422 for an unknown kind, 404 / 409 for a session unknown or ended. */
  async post(sessionId: string, userId: UserId, kind: unknown): Promise<void> {
    if (!isReactionKind(kind))
      throw invalid(['body', 'kind'], `kind must be one of ${REACTION_KINDS.join(', ')}`);
    if (!(await this.options.isLive(sessionId))) throw sessionEnded('Session has ended');
    this.tap(sessionId, userId, kind);
  }

  /** A tap of a viewer already in a live session; false when over the user's budget (dropped). */
  tap(sessionId: string, userId: UserId, kind: ReactionKind): boolean {
    if (!this.#spend(String(userId))) return false;
    let counts = this.#window.get(sessionId);
    if (!counts) {
      counts = {};
      this.#window.set(sessionId, counts);
    }
    counts[kind] = (counts[kind] ?? 0) + 1;
    this.#timer ??= setTimeout(() => this.#flush(), this.options.flushMs);
    return true;
  }

  /** The session's totals, every kind, as written (at most `flushMs` behind the taps). */
  totals(sessionId: string): Promise<ReactionTotals> {
    return this.#totals.get(sessionId, async () => {
      const rows = await this.db
        .selectFrom('session_reactions')
        .select(['kind', 'total'])
        .where('session_id', '=', sessionId)
        .execute();
      return totalsOf(Object.fromEntries(rows.map((r) => [r.kind, Number(r.total)])));
    });
  }

  /** Passes on and writes what was gathered (shutdown), and waits for the writes. */
  async close(): Promise<void> {
    this.#flush();
    await this.#writing;
  }

  #spend(user: string): boolean {
    const now = this.clock.now();
    const taps = this.#budgets.get(user);
    if (!taps) {
      this.#budgets.set(user, [now]);
      return true;
    }
    if (taps.length < REACTIONS_PER_USER_PER_SECOND) {
      taps.push(now);
      return true;
    }
    if (now - taps[0]! < 1000) return false;
    taps.shift();
    taps.push(now);
    return true;
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const window = this.#window;
    if (window.size === 0) return;
    this.#window = new Map();
    // A user whose last counted tap is a second old has a full budget again: forget it.
    const now = this.clock.now();
    for (const [user, taps] of this.#budgets)
      if (now - taps[taps.length - 1]! >= 1000) this.#budgets.delete(user);
    for (const [sessionId, counts] of window) this.events.reactionsCounted(sessionId, counts);
    const written = this.#write(window).catch((error: unknown) => this.options.onWriteFailed(error));
    this.#writing = Promise.all([this.#writing, written]).then(() => undefined);
  }

  /**
   * Adds a window to the totals, every session and kind in one statement. It takes each live
   * session's row FOR SHARE, so the end of a session waits for it, and a window written after the
   * end adds nothing: the totals the end reports (its webhook, the stats) are final.
   */
  async #write(window: Map<string, Record<string, number>>): Promise<void> {
    const rows = [...window].flatMap(([sessionId, counts]) =>
      Object.entries(counts).map(([kind, n]) => sql`(${sessionId}::uuid, ${kind}, ${n}::bigint)`),
    );
    await sql`
      insert into session_reactions (session_id, kind, total)
      select v.session_id, v.kind, v.total
      from (values ${sql.join(rows)}) as v (session_id, kind, total)
      join live_sessions s on s.id = v.session_id and s.is_live
      for share of s
      on conflict (session_id, kind) do update set total = session_reactions.total + excluded.total`.execute(
      this.db,
    );
    for (const sessionId of window.keys()) this.#totals.forget(sessionId);
  }
}
