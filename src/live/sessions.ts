import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Database, UserId } from '../db/schema.js';
import { forbidden, invalid, notFound, sessionEnded, unauthorized } from '../contract/errors.js';
import { isSessionId } from '../contract/ids.js';
import type { ChatState, LiveSession, SessionPage } from '../contract/rest.js';
import { isForeignKeyViolation } from '../db/errors.js';
import { keysetPage } from '../db/keyset-page.js';
import { RecentReads } from '../db/recent-reads.js';
import { toComment } from './comments.js';
import type { WebhookOutbox } from '../webhooks/outbox.js';
import type { LiveEvents } from './events.js';
import { recordStats, statsOf, type StatsColumns } from './session-stats.js';

export type { LiveSession, SessionPage };

/**
 * Viewer connections per session, across all instances: what the realtime layer's presence
 * knows, asked for by the REST answers. (realtime/presence.ts implements it.)
 */
export interface ViewerCounts {
  count(sessionId: string): Promise<number>;
  counts(sessionIds: string[]): Promise<Map<string, number>>;
  /** The most viewer connections the session had at once: its stats' `peak_viewers`. */
  peak(sessionId: string): Promise<number>;
  /** The session ended and its peak is recorded: let it go. */
  forgetPeak(sessionId: string): void;
}

/** A session's own fields, without the counts that change by the second. */
export interface SessionFacts {
  id: string;
  title: string;
  is_live: boolean;
  started_at: Date;
  ended_at: Date | null;
  vendor_id: UserId;
  vendor_name: string;
  thumbnail_at: Date | null;
}

/** A session's facts and its chat's state, as a socket opens (realtime admission reads these). */
export interface SessionFactsWithChat extends SessionFacts {
  chat: ChatState;
}

interface SessionRow extends SessionFacts, StatsColumns {
  views_total: number;
  replay_status: string | null;
}

/** The lifecycle of live sessions: create, list, fetch, end. */
export class Sessions {
  /**
   * Live sessions' rows as `get` reads them, kept briefly: a player polls its session, and a
   * popular session is polled by thousands. Ended sessions are always read (their replay moves on).
   */
  readonly #liveRows: RecentReads<SessionRow | undefined> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly viewerCounts: ViewerCounts,
    private readonly events: LiveEvents,
    private readonly clock: Clock,
    /** Webhooks: `session.started` and `session.ended` are recorded in the same transaction. */
    private readonly outbox?: WebhookOutbox,
    /**
     * How long a live session's row may be served from memory (0: never). Its end and a new
     * unique view on this instance show at once (`changed`), another instance's views within this.
     */
    liveRowMs = 0,
  ) {
    this.#liveRows = liveRowMs > 0 ? new RecentReads(liveRowMs, () => clock.now()) : undefined;
  }

  /** Something `get` shows of session `id` changed (its end, its unique views): read it afresh. */
  changed(id: string): void {
    this.#liveRows?.forget(id);
  }

  /** `record`: the vendor's choice of a replay; undefined follows the server's default. */
  async create(vendorId: UserId, title: string, record?: boolean): Promise<LiveSession> {
    const trimmed = title.trim();
    if (!trimmed) {
      throw invalid(['body', 'title'], 'title must not be blank', 'string_too_short');
    }
    const { id } = await this.db
      .transaction()
      .execute(async (trx) => {
        const row = await trx
          .insertInto('live_sessions')
          .values({
            vendor_id: vendorId,
            title: trimmed,
            started_at: new Date(this.clock.now()),
            record: record ?? null,
          })
          .returning(['id', 'started_at'])
          .executeTakeFirstOrThrow();
        await this.outbox?.enqueue(trx, 'session.started', {
          session_id: row.id,
          title: trimmed,
          vendor_id: vendorId,
          started_at: row.started_at.toISOString(),
        });
        return row;
      })
      .catch((error: unknown) => {
        throw isForeignKeyViolation(error) ? unauthorized('User no longer exists') : error;
      });
    const session = await this.get(id);
    this.events.sessionStarted?.(session);
    return session;
  }

  /** One session, live or ended; 404 `Session not found` otherwise. */
  async get(id: string): Promise<LiveSession> {
    if (!isSessionId(id)) throw notFound('Session not found');
    const read = () => this.#select().where('s.id', '=', id).executeTakeFirst();
    const row = this.#liveRows
      ? await this.#liveRows.get(id, read, (r) => r?.is_live === true)
      : await read();
    if (!row) throw notFound('Session not found');
    return this.#toSession(row, await this.viewerCounts.count(row.id));
  }

  /** Several sessions by id, as `get` shows them; unknown ids are left out (replay lists). */
  async getMany(ids: string[]): Promise<Map<string, LiveSession>> {
    const known = ids.filter(isSessionId);
    if (known.length === 0) return new Map();
    const rows = await this.#select().where('s.id', 'in', known).execute();
    const counts = await this.viewerCounts.counts(rows.map((r) => r.id));
    return new Map(rows.map((r) => [r.id, this.#toSession(r, counts.get(r.id) ?? 0)]));
  }

  /**
   * Who may publish video to a session (WHIP): only its vendor, only while it is live. Unknown:
   * not_found; anyone else: forbidden; ended: session_ended.
   */
  async requirePublisher(id: string, userId: UserId): Promise<void> {
    const session = await this.#factsOf(id);
    if (!session) throw notFound('Session not found');
    if (String(session.vendor_id) !== String(userId)) {
      throw forbidden('This is not your session: only its vendor may publish to it');
    }
    if (!session.is_live) throw sessionEnded('Session has ended');
  }

  /** Watching a session's video (WHEP) needs it live. Unknown: not_found; ended: session_ended. */
  async requireLive(id: string): Promise<void> {
    const session = await this.#factsOf(id);
    if (!session) throw notFound('Session not found');
    if (!session.is_live) throw sessionEnded('Session has ended');
  }

  /**
   * The vendor's newest live session, or a new one titled `title`: where an encoder with a stream
   * key (WHIP, RTMP, SRT) publishes.
   */
  async liveOrStart(vendorId: UserId, title: string): Promise<string> {
    return (await this.liveOf(vendorId)) ?? (await this.create(vendorId, title)).session_id;
  }

  /** The id of the vendor's newest live session, if any (WHIP with a stream key publishes to it). */
  async liveOf(vendorId: UserId): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('live_sessions')
      .select('id')
      .where('vendor_id', '=', vendorId)
      .where('is_live', '=', true)
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.id;
  }

  /** A session's own fields, without counts (the realtime layer's admission checks). */
  async find(id: string): Promise<SessionFactsWithChat | undefined> {
    if (!isSessionId(id)) return undefined;
    const row = await this.#facts()
      .leftJoin('comments as pc', (join) =>
        join.onRef('pc.id', '=', 's.pinned_comment_id').on('pc.deleted_at', 'is', null),
      )
      .leftJoin('users as pu', 'pu.id', 'pc.user_id')
      .select([
        's.last_offset',
        's.slow_mode_seconds',
        'pc.id as pinned_id',
        'pc.user_id as pinned_user_id',
        'pu.name as pinned_user_name',
        'pc.message as pinned_message',
        'pc.created_at as pinned_created_at',
        'pc.event_offset as pinned_offset',
      ])
      .where('s.id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    const {
      last_offset,
      slow_mode_seconds,
      pinned_id,
      pinned_user_id,
      pinned_user_name,
      pinned_message,
      pinned_created_at,
      pinned_offset,
      ...facts
    } = row;
    const pinned =
      pinned_id &&
      pinned_user_id !== null &&
      pinned_user_name &&
      pinned_message !== null &&
      pinned_created_at &&
      pinned_offset !== null
        ? toComment({
            id: pinned_id,
            session_id: facts.id,
            user_id: pinned_user_id,
            user_name: pinned_user_name,
            message: pinned_message,
            created_at: pinned_created_at,
            event_offset: pinned_offset,
          })
        : null;
    return { ...facts, chat: { pinned, slow_mode_seconds, offset: last_offset } };
  }

  /** Live sessions, newest first, `limit` at a time, continuing after `cursor`. */
  async listActive(limit: number, cursor?: string): Promise<SessionPage> {
    const { rows, next_cursor } = await this.#page(limit, cursor, { live: true });
    const counts = await this.viewerCounts.counts(rows.map((r) => r.id));
    return { items: rows.map((r) => this.#toSession(r, counts.get(r.id) ?? 0)), next_cursor };
  }

  /**
   * Ends a session of `vendorId`. Idempotent: ending an ended session returns it unchanged.
   * 404 when the session does not exist or belongs to another vendor. Peers are told once.
   */
  async end(id: string, vendorId: UserId): Promise<LiveSession> {
    if (!isSessionId(id)) throw notFound('Session not found');
    const ended = await this.db.transaction().execute(async (trx) => {
      // The row lock waits for comments being posted (they hold it FOR SHARE) and keeps later
      // ones out until the end commits; those then see is_live = false and get 409.
      const live = await trx
        .selectFrom('live_sessions')
        .select(['id', 'started_at'])
        .where('id', '=', id)
        .where('vendor_id', '=', vendorId)
        .where('is_live', '=', true)
        .forUpdate()
        .executeTakeFirst();
      if (!live) return false;
      // No stored comment may be later than ended_at, whichever clock stamped it first.
      const { last } = await trx
        .selectFrom('comments')
        .select((eb) => eb.fn.max('created_at').as('last'))
        .where('session_id', '=', id)
        .executeTakeFirstOrThrow();
      const now = new Date(this.clock.now());
      const endedAt = last && last > now ? last : now;
      await trx
        .updateTable('live_sessions')
        .set({ is_live: false, ended_at: endedAt })
        .where('id', '=', id)
        .execute();
      // An open poll closes with its session (or at its own time, if that came first).
      await trx
        .updateTable('polls')
        .set({ status: 'closed', closed_at: sql<Date>`least(ends_at, ${endedAt})`, lease_until: null })
        .where('session_id', '=', id)
        .where('status', '=', 'open')
        .execute();
      // Under the row lock: only the end that wins records the stats and the event.
      const stats = await recordStats(
        trx,
        { id, started_at: live.started_at, ended_at: endedAt },
        await this.viewerCounts.peak(id),
      );
      await this.outbox?.enqueue(trx, 'session.ended', {
        session_id: id,
        vendor_id: vendorId,
        ended_at: endedAt.toISOString(),
        duration_seconds: stats.duration_seconds,
        peak_viewers: stats.peak_viewers ?? 0,
        unique_views: stats.unique_views,
        comments: stats.comments,
        reactions: stats.reactions,
      });
      return true;
    });
    if (ended) this.changed(id);
    const row = await this.#select()
      .where('s.id', '=', id)
      .where('s.vendor_id', '=', vendorId)
      .executeTakeFirst();
    if (!row) throw notFound('Session not found');
    const session = this.#toSession(row, ended ? 0 : await this.viewerCounts.count(id));
    if (ended) {
      this.viewerCounts.forgetPeak(id);
      this.events.sessionEnded(session);
    }
    return session;
  }

  /**
   * A vendor's ended sessions with their stats, newest first, `limit` at a time, continuing
   * after `cursor` (`GET /me/sessions`).
   */
  async listPast(vendorId: UserId, limit: number, cursor?: string): Promise<SessionPage> {
    const { rows, next_cursor } = await this.#page(limit, cursor, { live: false, vendorId });
    return { items: rows.map((r) => this.#toSession(r, 0)), next_cursor };
  }

  /**
   * One page of the live (or ended) sessions, of one vendor when `vendorId` is given, newest
   * first, after the session `cursor` names (one of the same scope), and the next page's cursor.
   */
  #page(limit: number, cursor: string | undefined, scope: { live: boolean; vendorId?: UserId }) {
    return keysetPage(limit, cursor, {
      has: async (id) => {
        let known = this.db.selectFrom('live_sessions').select('id').where('id', '=', id);
        if (scope.vendorId !== undefined) known = known.where('vendor_id', '=', scope.vendorId);
        return (await known.executeTakeFirst()) !== undefined;
      },
      read: (afterId, take) => {
        let query = this.#select().where('s.is_live', '=', scope.live);
        if (scope.vendorId !== undefined) query = query.where('s.vendor_id', '=', scope.vendorId);
        // Adopted rows' start times carry microseconds a JS Date would lose: SQL compares them.
        if (afterId !== undefined) {
          query = query.where(
            sql<boolean>`(s.started_at, s.id) < (select c.started_at, c.id from live_sessions c where c.id = ${afterId})`,
          );
        }
        return query.orderBy('s.started_at', 'desc').orderBy('s.id', 'desc').limit(take).execute();
      },
    });
  }

  /** A session's own columns and its vendor's name. */
  /** One session's own fields, nothing joined for chat or counts (the video rules read these). */
  async #factsOf(id: string): Promise<SessionFacts | undefined> {
    return isSessionId(id) ? await this.#facts().where('s.id', '=', id).executeTakeFirst() : undefined;
  }

  #facts() {
    return this.db
      .selectFrom('live_sessions as s')
      .innerJoin('users as u', 'u.id', 's.vendor_id')
      .select([
        's.id',
        's.title',
        's.is_live',
        's.started_at',
        's.ended_at',
        's.vendor_id',
        'u.name as vendor_name',
        's.thumbnail_at',
      ]);
  }

  /** #facts(), the session's unique views and its stats (once ended). */
  #select() {
    return this.#facts()
      .leftJoin('session_stats as st', 'st.session_id', 's.id')
      .select([
        sql<number>`(select count(*)::int from session_views v where v.session_id = s.id)`.as('views_total'),
        'st.peak_viewers as st_peak_viewers',
        'st.unique_views as st_unique_views',
        'st.comments as st_comments',
        'st.duration_seconds as st_duration_seconds',
        'st.reactions as st_reactions',
      ])
      .leftJoin('replays as rp', 'rp.session_id', 's.id')
      .select('rp.status as replay_status');
  }

  #toSession(row: SessionRow, viewerCount: number): LiveSession {
    const session = this.present(row, viewerCount, row.views_total);
    if (!row.is_live) {
      session.stats = statsOf(row);
      session.replay_status = (row.replay_status ?? 'none') as LiveSession['replay_status'];
    }
    return session;
  }

  /** The API's view of a session from its facts and its current counts. */
  present(facts: SessionFacts, viewerCount: number, viewsTotal: number): LiveSession {
    const end = facts.ended_at ? facts.ended_at.getTime() : this.clock.now();
    return {
      session_id: facts.id,
      title: facts.title,
      vendor: { id: facts.vendor_id, name: facts.vendor_name },
      is_live: facts.is_live,
      started_at: facts.started_at.toISOString(),
      ended_at: facts.ended_at ? facts.ended_at.toISOString() : null,
      viewer_count: facts.is_live ? viewerCount : 0,
      views_total: viewsTotal,
      live_duration_seconds: Math.max(0, Math.floor((end - facts.started_at.getTime()) / 1000)),
      stats: null,
      replay_status: null,
      thumbnail_url: facts.thumbnail_at
        ? `/live/sessions/${facts.id}/thumbnail?v=${facts.thumbnail_at.getTime()}`
        : null,
    };
  }
}
