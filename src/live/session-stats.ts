import { sql, type Kysely } from 'kysely';
import { totalsOf } from '../contract/reactions.js';
import type { SessionStats } from '../contract/rest.js';
import type { Database } from '../db/schema.js';

export type { SessionStats };

/**
 * Writes a session's stats as it ends, inside the transaction that ends it (which holds the
 * session's row lock, so no comment or end slips in between): comments and unique views are
 * counted by the database, once however many instances took them; the peak comes from presence.
 * Reactions are the session's totals: a window of taps written after this adds nothing
 * (live/reactions.ts takes the row FOR SHARE), so these are final.
 */
export async function recordStats(
  trx: Kysely<Database>,
  session: { id: string; started_at: Date; ended_at: Date },
  peakViewers: number,
): Promise<SessionStats> {
  const durationSeconds = Math.max(
    0,
    Math.floor((session.ended_at.getTime() - session.started_at.getTime()) / 1000),
  );
  const row = await trx
    .insertInto('session_stats')
    .values({
      session_id: session.id,
      peak_viewers: peakViewers,
      unique_views: sql<number>`(select count(*)::int from session_views where session_id = ${session.id})`,
      comments: sql<number>`(select count(*)::int from comments where session_id = ${session.id})`,
      duration_seconds: durationSeconds,
      reactions: sql<Record<string, number>>`(select coalesce(jsonb_object_agg(kind, total), '{}'::jsonb)
        from session_reactions where session_id = ${session.id})`,
    })
    .onConflict((oc) => oc.column('session_id').doNothing())
    .returning(STATS_COLUMNS)
    .executeTakeFirst();
  // Written before (never expected: a session ends once); report what is stored.
  const stored =
    row ??
    (await trx
      .selectFrom('session_stats')
      .select(STATS_COLUMNS)
      .where('session_id', '=', session.id)
      .executeTakeFirstOrThrow());
  return { ...stored, reactions: totalsOf(stored.reactions ?? {}) };
}

const STATS_COLUMNS = ['peak_viewers', 'unique_views', 'comments', 'duration_seconds', 'reactions'] as const;

/** The columns of a `session_stats` row joined as `st`, null when the session has none. */
export interface StatsColumns {
  st_peak_viewers: number | null;
  st_unique_views: number | null;
  st_comments: number | null;
  st_duration_seconds: number | null;
  st_reactions: Record<string, number> | null;
}

/** The stats of a row with StatsColumns, or null (live, or no stats recorded). */
export function statsOf(row: StatsColumns): SessionStats | null {
  if (row.st_unique_views === null || row.st_comments === null || row.st_duration_seconds === null) {
    return null;
  }
  return {
    peak_viewers: row.st_peak_viewers,
    unique_views: row.st_unique_views,
    comments: row.st_comments,
    duration_seconds: row.st_duration_seconds,
    reactions: totalsOf(row.st_reactions ?? {}),
  };
}
