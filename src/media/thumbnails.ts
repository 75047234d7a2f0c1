import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { isSessionId } from '../contract/ids.js';
import type { Database } from '../db/schema.js';

/** Pictures closer together than this are not kept (they would only cost writes). */
const MIN_INTERVAL_MS = 2_000;

/** A session's newest picture. */
export interface Thumbnail {
  jpeg: Buffer;
  takenAt: Date;
  /** Whether the session is still live (the picture will change). */
  live: boolean;
}

/**
 * The newest picture of each session: replaced while the session is live (ingest takes one every
 * few seconds), kept once it ended as its replay's poster. Stored in the database so that every
 * instance serves it, whichever took it.
 */
export class Thumbnails {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  /**
   * Keeps `jpeg` as the session's picture if the session is still live and its last picture is at
   * least MIN_INTERVAL_MS old (a client sending faster writes nothing more). Says whether it kept it.
   */
  async save(sessionId: string, jpeg: Buffer): Promise<boolean> {
    const takenAt = new Date(this.clock.now());
    const due = new Date(takenAt.getTime() - MIN_INTERVAL_MS);
    return this.db.transaction().execute(async (trx) => {
      const live = await trx
        .updateTable('live_sessions')
        .set({ thumbnail_at: takenAt })
        .where('id', '=', sessionId)
        .where('is_live', '=', true)
        .where((eb) => eb.or([eb('thumbnail_at', 'is', null), eb('thumbnail_at', '<=', due)]))
        .returning('id')
        .executeTakeFirst();
      if (!live) return false;
      await trx
        .insertInto('session_thumbnails')
        .values({ session_id: sessionId, jpeg, taken_at: takenAt })
        .onConflict((oc) => oc.column('session_id').doUpdateSet({ jpeg, taken_at: takenAt }))
        .execute();
      return true;
    });
  }

  /** The session's picture; undefined before there is one (or for no such session). */
  async get(sessionId: string): Promise<Thumbnail | undefined> {
    if (!isSessionId(sessionId)) return undefined;
    const row = await this.db
      .selectFrom('session_thumbnails as t')
      .innerJoin('live_sessions as s', 's.id', 't.session_id')
      .select(['t.jpeg', 't.taken_at', 's.is_live'])
      .where('t.session_id', '=', sessionId)
      .executeTakeFirst();
    return row && { jpeg: Buffer.from(row.jpeg), takenAt: row.taken_at, live: row.is_live };
  }
}
