import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Database, UserId } from '../db/schema.js';
import { DomainError, invalid, notFound, unauthorized } from '../contract/errors.js';
import { isSessionId } from '../contract/ids.js';
import type { LiveSession, SessionPage } from '../contract/rest.js';
import { isForeignKeyViolation } from '../db/errors.js';
import type { LiveEvents } from './events.js';

export type { LiveSession, SessionPage };

/**
 * Viewer connections per session, across all instances: what the realtime layer's presence
 * knows, asked for by the REST answers. (realtime/presence.ts implements it.)
 */
export interface ViewerCounts {
  count(sessionId: string): Promise<number>;
  counts(sessionIds: string[]): Promise<Map<string, number>>;
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
}

interface SessionRow extends SessionFacts {
  views_total: number;
}

/** The lifecycle of live sessions: create, list, fetch, end. */
export class Sessions {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly viewerCounts: ViewerCounts,
    private readonly events: LiveEvents,
    private readonly clock: Clock,
  ) {}

  async create(vendorId: UserId, title: string): Promise<LiveSession> {
    const trimmed = title.trim();
    if (!trimmed) {
      throw invalid(['body', 'title'], 'title must not be blank', 'string_too_short');
    }
    const { id } = await this.db
      .insertInto('live_sessions')
      .values({ vendor_id: vendorId, title: trimmed, started_at: new Date(this.clock.now()) })
      .returning('id')
      .executeTakeFirstOrThrow()
      .catch((error: unknown) => {
        throw isForeignKeyViolation(error) ? unauthorized('User no longer exists') : error;
      });
    return this.get(id);
  }

  /** One session, live or ended; 404 `Session not found` otherwise. */
  async get(id: string): Promise<LiveSession> {
    const row = isSessionId(id) ? await this.#select().where('s.id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw notFound('Session not found');
    return this.#toSession(row, await this.viewerCounts.count(row.id));
  }

  /** A session's own fields, without counts (the realtime layer's admission checks). */
  async find(id: string): Promise<SessionFacts | undefined> {
    if (!isSessionId(id)) return undefined;
    return this.#facts().where('s.id', '=', id).executeTakeFirst();
  }

  /** Live sessions, newest first, `limit` at a time, continuing after `cursor`. */
  async listActive(limit: number, cursor?: string): Promise<SessionPage> {
    let query = this.#select().where('s.is_live', '=', true);
    if (cursor) {
      const after = decodeCursor(cursor);
      // The cursor names the last session of the previous page; the database compares its
      // start time at full precision (adopted rows carry microseconds a JS Date would lose).
      const known = await this.db
        .selectFrom('live_sessions')
        .select('id')
        .where('id', '=', after)
        .executeTakeFirst();
      if (!known) throw badCursor();
      query = query.where(
        sql<boolean>`(s.started_at, s.id) < (select c.started_at, c.id from live_sessions c where c.id = ${after})`,
      );
    }
    const rows = await query
      .orderBy('s.started_at', 'desc')
      .orderBy('s.id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const counts = await this.viewerCounts.counts(page.map((r) => r.id));
    const last = page.at(-1);
    return {
      items: page.map((r) => this.#toSession(r, counts.get(r.id) ?? 0)),
      next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null,
    };
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
        .select('id')
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
      await trx
        .updateTable('live_sessions')
        .set({ is_live: false, ended_at: last && last > now ? last : now })
        .where('id', '=', id)
        .execute();
      return true;
    });
    const row = await this.#select()
      .where('s.id', '=', id)
      .where('s.vendor_id', '=', vendorId)
      .executeTakeFirst();
    if (!row) throw notFound('Session not found');
    const session = this.#toSession(row, ended ? 0 : await this.viewerCounts.count(id));
    if (ended) this.events.sessionEnded(session);
    return session;
  }

  /** A session's own columns and its vendor's name. */
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
      ]);
  }

  /** #facts() and the session's unique views. */
  #select() {
    return this.#facts().select(
      sql<number>`(select count(*)::int from session_views v where v.session_id = s.id)`.as('views_total'),
    );
  }

  #toSession(row: SessionRow, viewerCount: number): LiveSession {
    return this.present(row, viewerCount, row.views_total);
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
    };
  }
}

/** Cursors are opaque to clients: the id of the last session of a page, base64url-encoded. */
function encodeCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isSessionId(id)) throw badCursor();
  return id;
}

const badCursor = () =>
  new DomainError('bad_cursor', 'cursor is not one this server issued; start again without it');
