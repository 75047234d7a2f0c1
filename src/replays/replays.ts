import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { RecordingConfig } from '../config.js';
import { forbidden, notFound } from '../contract/errors.js';
import { isSessionId } from '../contract/ids.js';
import type { Replay, ReplayPage, ReplaySegment, ReplayStatus } from '../contract/replays.js';
import type { LiveSession } from '../contract/rest.js';
import { keysetPage } from '../db/keyset-page.js';
import type { Database, UserId } from '../db/schema.js';
import type { ReplayStorage } from './storage.js';

/** Sessions as the API shows them, by id (live/sessions.ts answers; wired in features/services.ts). */
export type SessionLookup = (ids: string[]) => Promise<Map<string, LiveSession>>;

/** What the replays API needs of a stored replay to serve its file. */
export interface ReplayMedia {
  key: string;
  contentType: string;
  size: number;
}

/** How long after its room is destroyed a session's job waits: Janus closes its files first. */
export const SETTLE_MS = 2_000;

/**
 * A session's replay: whether its Janus room records (the media layer asks `recordingDir`),
 * its job once it ended (`sessionEnded`; worker.ts processes it), and the API's view of it.
 *
 * Folders: `<dir>/raw/<session id>/` holds what Janus recorded (Janus sees it as
 * `<janusDir>/<session id>`), `<dir>/tmp/` the jobs under way, and the storage the finished
 * files. Every path is made from a session id that is a UUID, never from anything else.
 */
/** What toReplay() reads of a `replays` row (aliased `r`), for the one replay and the list alike. */
const REPLAY_COLUMNS = [
  'r.status',
  'r.duration_seconds',
  'r.size_bytes',
  'r.content_type',
  'r.error',
  'r.timeline',
] as const;

export class Replays {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: RecordingConfig,
    readonly storage: ReplayStorage,
    private readonly sessions: SessionLookup,
  ) {}

  /** Where Janus's recordings are, as this instance sees them: a folder per session. */
  get rawRoot(): string {
    return join(this.config.dir, 'raw');
  }

  /** Where Janus's recordings of a session are, as this instance sees them. */
  rawDir(sessionId: string): string {
    if (!isSessionId(sessionId)) throw new Error('not a session id');
    return join(this.rawRoot, sessionId.toLowerCase());
  }

  /** Where jobs under way keep their files (on the same file system as the storage). */
  get tmpDir(): string {
    return join(this.config.dir, 'tmp');
  }

  /**
   * RecordingPolicy: called as the session's room is created. The vendor's choice at creation,
   * else RECORDINGS; when recorded, the folder is made, the replay is `recording`, and the
   * folder as Janus sees it is returned.
   */
  async recordingDir(sessionId: string): Promise<string | undefined> {
    if (!isSessionId(sessionId)) return undefined;
    const session = await this.db
      .selectFrom('live_sessions')
      .select('record')
      .where('id', '=', sessionId)
      .executeTakeFirst();
    if (!session || !(session.record ?? this.config.enabled)) return undefined;
    const id = sessionId.toLowerCase();
    await mkdir(this.rawDir(id), { recursive: true });
    // A room created again (its Janus was lost) records into the same folder: one more set.
    await this.db
      .insertInto('replays')
      .values({ session_id: id, status: 'recording' })
      .onConflict((oc) => oc.column('session_id').doNothing())
      .execute();
    return `${this.config.janusDir.replace(/\/+$/, '')}/${id}`;
  }

  /** The session ended and its room is gone: its recording becomes a job, due shortly. */
  async sessionEnded(sessionId: string): Promise<void> {
    if (!isSessionId(sessionId)) return;
    await this.db
      .updateTable('replays')
      .set({
        status: 'processing',
        not_before: sql<Date>`now() + ${SETTLE_MS} * interval '1 millisecond'`,
        lease_until: null,
      })
      .where('session_id', '=', sessionId.toLowerCase())
      .where('status', '=', 'recording')
      .execute();
  }

  /** A session's replay; 404 when the session does not exist. */
  async get(sessionId: string): Promise<Replay> {
    if (!isSessionId(sessionId)) throw notFound('Session not found');
    const row = await this.db
      .selectFrom('live_sessions as s')
      .leftJoin('replays as r', 'r.session_id', 's.id')
      .select(['s.id', ...REPLAY_COLUMNS])
      .where('s.id', '=', sessionId)
      .executeTakeFirst();
    if (!row) throw notFound('Session not found');
    return toReplay(row.id, row);
  }

  /** The stored file of a ready replay (the media route); 404 otherwise. */
  async media(sessionId: string): Promise<ReplayMedia> {
    if (!isSessionId(sessionId)) throw notFound('Session not found');
    const row = await this.db
      .selectFrom('replays')
      .select(['storage_key', 'content_type', 'size_bytes'])
      .where('session_id', '=', sessionId)
      .where('status', '=', 'ready')
      .executeTakeFirst();
    if (!row?.storage_key) throw notFound('Replay not found');
    const stored = await this.storage.stat(row.storage_key);
    if (!stored) throw notFound('Replay not found');
    return {
      key: row.storage_key,
      contentType: row.content_type ?? 'application/octet-stream',
      size: stored.size,
    };
  }

  /** Ready replays, newest first, with their sessions; `cursor` continues a previous page. */
  async list(limit: number, cursor?: string): Promise<ReplayPage> {
    const { rows, next_cursor } = await keysetPage(limit, cursor, {
      has: async (id) =>
        (await this.db
          .selectFrom('replays')
          .select('session_id')
          .where('session_id', '=', id)
          .where('status', '=', 'ready')
          .executeTakeFirst()) !== undefined,
      read: (afterId, take) => {
        let query = this.db
          .selectFrom('replays as r')
          .select(['r.session_id as id', ...REPLAY_COLUMNS])
          .where('r.status', '=', 'ready');
        if (afterId !== undefined) {
          query = query.where(
            sql<boolean>`(r.ready_at, r.session_id) < (select c.ready_at, c.session_id from replays c where c.session_id = ${afterId})`,
          );
        }
        return query.orderBy('r.ready_at', 'desc').orderBy('r.session_id', 'desc').limit(take).execute();
      },
    });
    const sessions = await this.sessions(rows.map((r) => r.id));
    const items = rows.flatMap((row) => {
      const session = sessions.get(row.id);
      return session ? [{ session, replay: toReplay(row.id, row) }] : [];
    });
    return { items, next_cursor };
  }

  /**
   * Deletes a session's replay (its vendor only): the file, what Janus recorded, and the row;
   * the replay is `none` afterwards. 404 for an unknown session or one without a replay.
   */
  async delete(sessionId: string, vendorId: UserId): Promise<void> {
    if (!isSessionId(sessionId)) throw notFound('Session not found');
    const row = await this.db
      .selectFrom('live_sessions as s')
      .leftJoin('replays as r', 'r.session_id', 's.id')
      .select(['s.vendor_id', 'r.status', 'r.storage_key'])
      .where('s.id', '=', sessionId)
      .executeTakeFirst();
    if (!row) throw notFound('Session not found');
    if (String(row.vendor_id) !== String(vendorId)) throw forbidden("Only the session's vendor may do this");
    if (!row.status) throw notFound('Replay not found');
    await this.remove(sessionId.toLowerCase(), row.storage_key);
  }

  /** Removes a replay's row, file and raw recording (delete, retention). */
  async remove(sessionId: string, storageKey: string | null): Promise<void> {
    const deleted = await this.db
      .deleteFrom('replays')
      .where('session_id', '=', sessionId)
      .returning('storage_key')
      .executeTakeFirst();
    const key = deleted?.storage_key ?? storageKey;
    if (key) await this.storage.delete(key);
    await rm(this.rawDir(sessionId), { recursive: true, force: true });
  }
}

interface ReplayColumns {
  status: string | null;
  duration_seconds: number | null;
  size_bytes: string | number | null;
  content_type: string | null;
  error: string | null;
  timeline: string | null;
}

function toReplay(sessionId: string, row: ReplayColumns): Replay {
  const status = (row.status ?? 'none') as ReplayStatus;
  const ready = status === 'ready';
  return {
    status,
    duration_seconds: ready ? row.duration_seconds : null,
    size_bytes: ready && row.size_bytes !== null ? Number(row.size_bytes) : null,
    url: ready ? `/live/sessions/${sessionId}/replay/media` : null,
    content_type: ready ? row.content_type : null,
    error: status === 'failed' ? row.error : null,
    timeline: ready ? parseTimeline(row.timeline) : [],
  };
}

function parseTimeline(raw: string | null): ReplaySegment[] {
  try {
    const parsed: unknown = JSON.parse(raw ?? '[]');
    return Array.isArray(parsed) ? (parsed as ReplaySegment[]) : [];
  } catch {
    return [];
  }
}
